from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Text, bindparam, case, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import Executable

from sublarr.core.domain import (
    MAX_COMPOSITE_KEY_BYTES,
    MAX_INDEXED_BYTES,
    Repository,
    check_limit,
    count_where,
    inserted_id,
    is_or_extends,
    paginate,
    require_int,
    require_str,
)
from sublarr.core.timeutil import iso_in, now_iso
from sublarr.core.validation import require_amount, require_flag, time_ago, time_in
from sublarr.drivers.base import StorageDriver

from .models import provider_cache as cache
from .models import provider_stats as stats
from .models import subtitle_downloads as downloads

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel


# get_provider_health_history: the legacy function returned these columns only
_HEALTH_COLUMNS = ("provider_name", "total_searches", "successful_downloads", "failed_downloads",
                   "avg_response_time_ms", "updated_at")


def _group_counts(conn: Connection, column, unknown: str | None = None) -> dict[str, int]:
    """``{value: count}`` in the legacy key order (SQLite's GROUP BY order: NULL, then by code point).

    With ``unknown``, NULL and '' are summed under that key (legacy: the later group overwrote the
    earlier one, so one of the two counts was lost).
    """
    rows = conn.execute(select(column, func.count()).group_by(column)).all()
    counts: dict[str, int] = {}
    for value, n in sorted(rows, key=lambda r: (r[0] is not None, r[0] or "")):
        key = (value or unknown) if unknown is not None else value
        counts[key] = counts.get(key, 0) + n
    return counts


def _require_name(provider_name: Any) -> str:
    return require_str("provider_name", provider_name, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)


def _optional_name(provider_name: Any) -> str | None:
    """Legacy filters tested truthiness: None and '' both mean "every provider"."""
    if provider_name is None:
        return None
    return require_str("provider_name", provider_name) or None


def _count(column):
    """The column's value in SQL, NULL read as 0 (old legacy rows may hold NULL counters)."""
    return func.coalesce(column, 0)


def _check_search(provider_name: Any, success: Any, response_time_ms: Any) -> None:
    _require_name(provider_name)
    require_flag("success", success)
    require_amount("response_time_ms", response_time_ms, nullable=True)


def _search_upsert(storage: StorageDriver, success: bool, timed: bool) -> Executable:
    """Count one search (parameters ``name``, ``now``, ``rt``) in one upsert."""
    c = stats.c
    now = bindparam("now", type_=Text())
    rt = bindparam("rt", type_=c.avg_response_time_ms.type)
    first = {"provider_name": bindparam("name", type_=Text()), "total_searches": 1, "successful_downloads": 0,
             "failed_downloads": 0 if success else 1, "avg_score": 0,
             "last_success_at": now if success else None, "last_failure_at": None if success else now,
             "consecutive_failures": 0 if success else 1,
             "avg_response_time_ms": rt if timed else 0, "last_response_time_ms": rt if timed else 0,
             "updated_at": now}
    again: dict[str, Any] = {"total_searches": _count(c.total_searches) + 1, "updated_at": now}
    if success:
        again.update(last_success_at=now, consecutive_failures=0)
    else:
        again.update(failed_downloads=_count(c.failed_downloads) + 1, last_failure_at=now,
                     consecutive_failures=_count(c.consecutive_failures) + 1)
    if timed:
        # legacy running average over every search, (avg * n + rt) / (n + 1) with n = searches before
        # (the SET expressions see the row before the update), written as avg + (rt - avg) / (n + 1):
        # the same value, but avg * n cannot overflow a double for huge response times
        searches = _count(c.total_searches)
        avg = _count(c.avg_response_time_ms)
        again.update(last_response_time_ms=rt, avg_response_time_ms=avg + (rt - avg) / (searches + 1))
    return storage.upsert(stats, first, key=["provider_name"], update=again)


def _download_upsert(storage: StorageDriver, scored: bool) -> Executable:
    """Count one successful download (parameters ``name``, ``now``, ``score``) in one upsert."""
    c = stats.c
    now = bindparam("now", type_=Text())
    score = bindparam("score", type_=Integer())
    first = {"provider_name": bindparam("name", type_=Text()), "total_searches": 0, "successful_downloads": 1,
             "failed_downloads": 0, "avg_score": score, "last_success_at": now,
             "consecutive_failures": 0, "updated_at": now}
    again: dict[str, Any] = {"successful_downloads": _count(c.successful_downloads) + 1,
                             "last_success_at": now, "consecutive_failures": 0, "updated_at": now}
    if scored:
        done = _count(c.successful_downloads)
        avg = _count(c.avg_score)
        again["avg_score"] = avg + (score - avg) / (done + 1)  # = (avg * n + score) / (n + 1), overflow-free
    return storage.upsert(stats, first, key=["provider_name"], update=again)


def _failure_upsert(storage: StorageDriver) -> Executable:
    """Count one failed download (parameters ``name``, ``now``) in one upsert."""
    c = stats.c
    now = bindparam("now", type_=Text())
    first = {"provider_name": bindparam("name", type_=Text()), "failed_downloads": 1,
             "consecutive_failures": 1, "last_failure_at": now, "updated_at": now}
    again = {"failed_downloads": _count(c.failed_downloads) + 1,
             "consecutive_failures": _count(c.consecutive_failures) + 1,
             "last_failure_at": now, "updated_at": now}
    return storage.upsert(stats, first, key=["provider_name"], update=again)


class ProvidersRepository(Repository):
    """Provider search cache, download history and statistics (legacy ``db/providers.py``).

    Every counter and running average is computed by the database in the one upsert or
    UPDATE that changes it, so concurrent writers lose no update (the legacy
    ``update_provider_stats`` read the row, added in Python and wrote it back).
    Kept: the legacy response-time average over ``total_searches``, ``failed_downloads``
    counting failed searches, ``consecutive_failures`` surviving the auto-disable cooldown
    (half-open: one more failure disables again), empty ``disabled_until`` = indefinite.
    Fixed: caching a (provider, query) again replaces its entry; ``check_auto_disable``
    disables for the configured cooldown instead of forever.
    """

    domain = "providers"

    def __init__(self, kernel: Kernel):
        super().__init__(kernel)
        self._prepared: dict[tuple, Executable] = {}

    # -- search cache ----------------------------------------------------------------------------

    def cache_provider_results(self, provider_name: str, query_hash: str, results_json: str,
                               ttl_hours: float = 6, format_filter: str | None = None) -> None:
        """Store (or replace) the results of a query for ``ttl_hours`` (fractions allowed: the
        legacy caller passed ``provider_cache_ttl_minutes / 60``). ``format_filter`` is unused,
        as in the legacy layer: it must be part of ``query_hash``."""
        values = {
            "provider_name": _require_name(provider_name),
            "query_hash": require_str("query_hash", query_hash, max_bytes=MAX_INDEXED_BYTES),
            "results_json": require_str("results_json", results_json),
            "cached_at": now_iso(),
            "expires_at": time_in("ttl_hours", ttl_hours, "hours"),
        }
        require_str("provider_name + query_hash", provider_name + query_hash, max_bytes=MAX_COMPOSITE_KEY_BYTES)
        with self.write() as conn:
            conn.execute(self.storage.upsert(cache, values, key=["provider_name", "query_hash"]))

    # The name the repository layer and the cache domain use: one implementation.
    save_cache_results = cache_provider_results

    def get_cached_results(self, provider_name: str, query_hash: str,
                           format_filter: str | None = None) -> str | None:
        """The cached ``results_json`` if not expired, else None (one entry per key since
        providers_0002; the legacy reader picked the newest of its duplicates)."""
        require_str("provider_name", provider_name)
        require_str("query_hash", query_hash)
        with self.read() as conn:
            return conn.execute(
                select(cache.c.results_json)
                .where(cache.c.provider_name == provider_name, cache.c.query_hash == query_hash,
                       cache.c.expires_at > now_iso())
            ).scalar()

    def cleanup_expired_cache(self) -> int:
        """Delete expired entries; returns how many (legacy: None)."""
        with self.write() as conn:
            return conn.execute(delete(cache).where(cache.c.expires_at < now_iso())).rowcount

    def get_provider_cache_stats(self) -> dict[str, dict[str, int]]:
        """``{provider_name: {"total": n, "active": n_not_expired}}``."""
        with self.read() as conn:
            rows = conn.execute(
                select(cache.c.provider_name, func.count(),
                       func.sum(case((cache.c.expires_at > now_iso(), 1), else_=0)))
                .group_by(cache.c.provider_name).order_by(self.storage.text_order(cache.c.provider_name))
            ).all()
        return {name: {"total": total, "active": int(active)} for name, total, active in rows}

    def clear_provider_cache(self, provider_name: str | None = None) -> int:
        """Delete one provider's entries (all when ``provider_name`` is None or '');
        returns how many (legacy: None)."""
        name = _optional_name(provider_name)
        stmt = delete(cache) if name is None else delete(cache).where(cache.c.provider_name == name)
        with self.write() as conn:
            return conn.execute(stmt).rowcount

    # -- download history ------------------------------------------------------------------------

    def record_subtitle_download(self, provider_name: str, subtitle_id: str, language: str, fmt: str | None,
                                 file_path: str, score: int) -> int:
        """Append to ``subtitle_downloads`` (``subtitle_type`` takes its default 'full');
        returns the new id (legacy: None). ``fmt=None`` stores NULL, as legacy did (the statistics
        count it under "unknown")."""
        values = {
            "provider_name": _require_name(provider_name),
            "subtitle_id": require_str("subtitle_id", subtitle_id),
            "language": require_str("language", language),
            "format": None if fmt is None else require_str("fmt", fmt),
            "file_path": require_str("file_path", file_path, max_bytes=MAX_INDEXED_BYTES),
            "score": require_int("score", score),
            "downloaded_at": now_iso(),
        }
        with self.write() as conn:
            return inserted_id(conn.execute(downloads.insert().values(**values)))

    def get_provider_download_stats(self) -> dict[str, dict]:
        """``{provider: {"total": n, "by_format": {format: n}}}``; '' and NULL formats are summed
        under "unknown" (the legacy loop let one overwrite the other, so the buckets did not add
        up to ``total``)."""
        with self.read() as conn:
            rows = conn.execute(
                select(downloads.c.provider_name, downloads.c.format, func.count())
                .group_by(downloads.c.provider_name, downloads.c.format)
                .order_by(self.storage.text_order(downloads.c.provider_name), self.storage.text_order(downloads.c.format))
            ).all()
        result: dict[str, dict] = {}
        for name, fmt, count in rows:
            entry = result.setdefault(name, {"total": 0, "by_format": {}})
            entry["total"] += count
            key = fmt or "unknown"
            entry["by_format"][key] = entry["by_format"].get(key, 0) + count
        return result

    # -- the download history other domains read (library, cache) -------------------------------

    def get_subtitle_downloads(self, page: int = 1, per_page: int = 50, provider: str | None = None,
                               language: str | None = None) -> dict[str, Any]:
        """Paginated download rows, newest first (id breaks ties so pages never overlap); ``provider``
        and ``language`` filter by exact match when they are truthy (legacy)."""
        for name, value in (("provider", provider), ("language", language)):
            if value is not None:
                require_str(name, value)
        query = select(downloads)
        if provider:
            query = query.where(downloads.c.provider_name == provider)
        if language:
            query = query.where(downloads.c.language == language)
        with self.read() as conn:
            return paginate(conn, query, page, per_page, [downloads.c.downloaded_at.desc(), downloads.c.id.desc()])

    def get_subtitle_download_stats(self) -> dict[str, Any]:
        """``{total_downloads, by_provider, by_format, by_language, last_24h, last_7d}``: exact windows
        (cutoffs in the kernel's timestamp format, compared as strings, on every engine); '' and NULL
        formats and languages are summed under ``"unknown"``."""
        day_ago, week_ago = iso_in(days=-1), iso_in(days=-7)
        with self.read() as conn:
            total, last_24h, last_7d = conn.execute(select(
                func.count(),
                count_where(downloads.c.downloaded_at > day_ago),
                count_where(downloads.c.downloaded_at > week_ago),
            )).one()
            return {
                "total_downloads": total,
                "by_provider": _group_counts(conn, downloads.c.provider_name),
                "by_format": _group_counts(conn, downloads.c.format, unknown="unknown"),
                "by_language": _group_counts(conn, downloads.c.language, unknown="unknown"),
                "last_24h": int(last_24h),
                "last_7d": int(last_7d),
            }

    def get_downloads_for_media(self, base_path: str, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` newest download rows of one media file: rows whose ``file_path`` is
        ``base_path`` (the file's path without its extension) or starts with ``base_path + "."`` (the
        file and its subtitles), literally and case-sensitively. For the cache domain's episode history."""
        require_str("base_path", base_path, allow_empty=False)
        query = (select(downloads)
                 .where(is_or_extends(downloads.c.file_path, base_path, ".",
                                      binary_text=self.storage.features.binary_text))
                 .order_by(downloads.c.downloaded_at.desc(), downloads.c.id.desc()).limit(check_limit(limit)))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # -- statistics ------------------------------------------------------------------------------

    def _prepared_write(self, build: Callable[..., Executable], *variant: bool) -> Any:
        """The statement ``build(storage, *variant)``, built and prepared (``storage.prepare``) once per
        repository: the hot paths only bind values, so the write transaction is not held while
        SQLAlchemy builds or compiles expressions (that doubled the lock time and starved concurrent
        SQLite writers), and the driver may run it without a SQLAlchemy Connection (``run_writes``)."""
        key = (build, variant)
        stmt = self._prepared.get(key)
        if stmt is None:
            stmt = self._prepared[key] = self.storage.prepare(build(self.storage, *variant))
        return stmt

    def _search(self, provider_name: str, success: bool, response_time_ms: float | None) -> tuple[Any, dict]:
        stmt = self._prepared_write(_search_upsert, success, response_time_ms is not None)
        return stmt, {"name": provider_name, "now": now_iso(), "rt": response_time_ms}

    def _download(self, provider_name: str, score: int) -> tuple[Any, dict]:
        stmt = self._prepared_write(_download_upsert, score > 0)
        return stmt, {"name": provider_name, "now": now_iso(), "score": score}

    def record_search(self, provider_name: str, success: bool, response_time_ms: float | None = None) -> None:
        """Count a search: ``total_searches + 1``; success stamps ``last_success_at`` and resets
        ``consecutive_failures``; failure adds to ``failed_downloads`` and
        ``consecutive_failures`` and stamps ``last_failure_at``; a response time updates the
        running average. One upsert statement."""
        _check_search(provider_name, success, response_time_ms)
        self.storage.run_writes([self._search(provider_name, success, response_time_ms)])

    def record_download(self, provider_name: str, score: int) -> None:
        """Count a successful download: ``successful_downloads + 1``, a score > 0 enters the
        running ``avg_score``, ``consecutive_failures`` resets."""
        _require_name(provider_name)
        require_int("score", score)
        self.storage.run_writes([self._download(provider_name, score)])

    def record_download_failure(self, provider_name: str) -> None:
        """Count a failed download: ``failed_downloads`` and ``consecutive_failures`` + 1."""
        params = {"name": _require_name(provider_name), "now": now_iso()}
        self.storage.run_writes([(self._prepared_write(_failure_upsert), params)])

    def update_provider_stats(self, provider_name: str, success: bool, score: int = 0,
                              response_time_ms: float | None = None) -> None:
        """The legacy entry point: success = :meth:`record_search` (True) + :meth:`record_download`
        (score), failure = :meth:`record_search` (False), in one transaction. As in the legacy
        function, a successful search counts as a successful download even with score 0."""
        _check_search(provider_name, success, response_time_ms)
        require_int("score", score)
        steps = [self._search(provider_name, success, response_time_ms)]
        if success:
            steps.append(self._download(provider_name, score))
        self.storage.run_writes(steps)

    def get_provider_stats(self, provider_name: str | None = None) -> dict:
        """One provider's row dict (``{}`` if none), or ``{provider_name: row}`` for all when
        ``provider_name`` is None or ''."""
        name = _optional_name(provider_name)
        with self.read() as conn:
            if name is None:
                rows = conn.execute(select(stats).order_by(self.storage.text_order(stats.c.provider_name))).mappings()
                return {row["provider_name"]: dict(row) for row in rows}
            row = conn.execute(select(stats).where(stats.c.provider_name == name)).mappings().first()
        return dict(row) if row else {}

    def get_all_provider_stats(self) -> list[dict]:
        """Every provider's row dict, by name."""
        return list(self.get_provider_stats().values())

    def clear_provider_stats(self, provider_name: str) -> bool:
        """Delete a provider's statistics row; True if there was one."""
        require_str("provider_name", provider_name)
        with self.write() as conn:
            return conn.execute(delete(stats).where(stats.c.provider_name == provider_name)).rowcount > 0

    def get_provider_success_rate(self, provider_name: str) -> float:
        """``successful_downloads / total_searches`` (0.0 without a row or searches), capped at
        1.0: with the split API a download can be recorded without its search."""
        require_str("provider_name", provider_name)
        with self.read() as conn:
            row = conn.execute(select(stats.c.successful_downloads, stats.c.total_searches)
                               .where(stats.c.provider_name == provider_name)).first()
        if not row or not row.total_searches:
            return 0.0
        return min(1.0, (row.successful_downloads or 0) / row.total_searches)

    def get_provider_health_history(self, provider_name: str | None = None, days: int = 7) -> list[dict]:
        """Not a time series (legacy quirk kept): the current rows updated in the last ``days``,
        with keys provider_name, total_searches, successful_downloads, failed_downloads,
        avg_response_time_ms, updated_at; most recently updated first."""
        name = _optional_name(provider_name)
        require_int("days", days, minimum=0)
        query = (select(*(stats.c[col] for col in _HEALTH_COLUMNS))
                 .where(stats.c.updated_at >= time_ago("days", days))
                 .order_by(stats.c.updated_at.desc(), self.storage.text_order(stats.c.provider_name)))
        if name is not None:
            query = query.where(stats.c.provider_name == name)
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- auto-disable ----------------------------------------------------------------------------

    def auto_disable_provider(self, provider_name: str, cooldown_minutes: float = 30) -> None:
        """Disable until now + ``cooldown_minutes`` (creates the row if needed). Does not reset
        ``consecutive_failures``."""
        now = now_iso()
        values = {"provider_name": _require_name(provider_name), "auto_disabled": 1,
                  "disabled_until": time_in("cooldown_minutes", cooldown_minutes, "minutes"),
                  "updated_at": now}
        with self.write() as conn:
            conn.execute(self.storage.upsert(stats, values, key=["provider_name"]))

    def check_auto_disable(self, provider_name: str, threshold: int | None = None) -> bool:
        """Disable the provider for ``provider_auto_disable_cooldown_minutes`` once
        ``consecutive_failures >= threshold`` (default ``2 × circuit_breaker_failure_threshold``);
        True if it was disabled. The repository layer disabled forever (empty
        ``disabled_until``); the legacy caller used the cooldown, which is kept."""
        require_str("provider_name", provider_name)
        if threshold is None:
            threshold = 2 * int(self.settings.circuit_breaker_failure_threshold)
        require_int("threshold", threshold, minimum=1)
        until = time_in("provider_auto_disable_cooldown_minutes",
                        self.settings.provider_auto_disable_cooldown_minutes, "minutes")
        with self.write() as conn:
            result = conn.execute(
                update(stats)
                .where(stats.c.provider_name == provider_name, stats.c.consecutive_failures >= threshold)
                .values(auto_disabled=1, disabled_until=until, updated_at=now_iso())
            )
        return result.rowcount > 0

    def is_auto_disabled(self, provider_name: str) -> bool:
        """True while disabled. A passed ``disabled_until`` clears the flag (half-open:
        ``consecutive_failures`` is kept, so the next failure disables again); an empty one means
        disabled until :meth:`clear_auto_disable`. Clear and read are one transaction."""
        require_str("provider_name", provider_name)
        with self.write() as conn:
            conn.execute(
                update(stats)
                .where(stats.c.provider_name == provider_name, stats.c.auto_disabled != 0,
                       stats.c.disabled_until != "", stats.c.disabled_until < now_iso())
                .values(auto_disabled=0, disabled_until="")
            )
            flag = conn.execute(select(stats.c.auto_disabled).where(stats.c.provider_name == provider_name)).scalar()
        return bool(flag)

    is_provider_auto_disabled = is_auto_disabled

    def clear_auto_disable(self, provider_name: str) -> bool:
        """Re-enable by hand: ``auto_disabled=0``, ``disabled_until=''``, ``consecutive_failures=0``
        (``updated_at`` untouched, as in the legacy function); True if the provider has a row."""
        require_str("provider_name", provider_name)
        with self.write() as conn:
            result = conn.execute(update(stats).where(stats.c.provider_name == provider_name)
                                  .values(auto_disabled=0, disabled_until="", consecutive_failures=0))
        return result.rowcount > 0

    def get_disabled_providers(self) -> list[dict]:
        """Row dicts of the providers disabled right now (a passed cooldown does not count), by name."""
        until = stats.c.disabled_until
        with self.read() as conn:
            rows = conn.execute(
                select(stats)
                .where(stats.c.auto_disabled != 0,
                       until.is_(None) | (until == "") | (until >= now_iso()))
                .order_by(self.storage.text_order(stats.c.provider_name))
            ).mappings()
            return [dict(row) for row in rows]
