from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sublarr.core.domain import LIKE_ESCAPE, Repository, inserted_id, like_contains
from sublarr.core.errors import DuplicateError
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import (
    MAX_INDEXED_BYTES,
    Check,
    clean_fields,
    require_amount,
    require_flag,
    require_int,
    require_str,
)

from .models import glossary_entries as glossary
from .models import prompt_presets as presets
from .models import translation_backend_stats as backends
from .models import translation_config_history as history

GLOSSARY_PROMPT_LIMIT = 15  # terms the prompt builder receives (legacy get_glossary_for_series)
LAST_ERROR_MAX_LENGTH = 500  # legacy record_backend_failure kept error_msg[:500]

# The editable fields of a glossary entry and of a prompt preset, and their rules (strings are
# stored stripped, as legacy), for adds and updates alike.
_GLOSSARY_FIELDS: dict[str, Check] = {
    "source_term": partial(require_str, strip=True, max_bytes=MAX_INDEXED_BYTES),
    "target_term": partial(require_str, strip=True),
    "notes": partial(require_str, strip=True),
}
_PRESET_FIELDS: dict[str, Check] = {
    "name": partial(require_str, strip=True, max_bytes=MAX_INDEXED_BYTES),
    "prompt_template": partial(require_str, strip=True),
    "is_default": require_flag,
}


def _given(rules: dict[str, Check], what: str, **fields: Any) -> dict[str, Any]:
    """The checked values of the fields that are not None (the legacy "only what is given"), with
    ``updated_at`` now; {} when none is given."""
    values = clean_fields(what, rules, {name: value for name, value in fields.items() if value is not None})
    if values:
        values["updated_at"] = now_iso()
    return values


@contextmanager
def _preset_name_free(name: str | None) -> Iterator[None]:
    """Turn the UNIQUE(name) violation into :class:`DuplicateError`; the transaction has rolled back by then,
    so nothing of the failed call (e.g. clearing the old default) is kept."""
    try:
        yield
    except IntegrityError:
        raise DuplicateError(presets.name, "name", f"a prompt preset named {name!r} exists already") from None


class TranslationRepository(Repository):
    """Translation config history, glossary, prompt presets and backend stats (legacy
    ``db/translation.py``; ``get_translation_config_history`` and ``get_all_backend_stats`` are the
    repository additions).

    Kept: strings stripped on write, the legacy orderings and key sets, ``is_default`` returned as
    0/1, a config hash hit only touching ``last_used_at``, ``delete_prompt_preset`` refusing while at
    most one preset exists (so the last one is never deleted; the default one may be),
    ``reset_backend_stats`` deleting the row, ``last_error`` cut to 500 characters.
    Mended: changing the default preset happens in the same transaction as the add/update, so a
    failure (duplicate name, missing id) leaves the old default; a fresh database has the "Default"
    preset (migration translation_0002; legacy never seeded it); the average response time counts
    successes only and is computed in SQL (no lost updates); glossary search matches ``%`` and
    ``_`` literally. A duplicate name raises :class:`DuplicateError`: a ValueError, and as legacy an
    ``sqlite3.IntegrityError`` (``UNIQUE constraint failed: prompt_presets.name``).
    """

    domain = "translation"

    # -- config history -------------------------------------------------------------------------

    def record_translation_config(self, config_hash: str, ollama_model: str | None, prompt_template: str | None,
                                  target_language: str | None) -> None:
        """First use inserts the row; later uses only refresh ``last_used_at`` (legacy: the model,
        prompt and language of the first use are kept). Race-free: one upsert."""
        now = now_iso()
        row = {
            "config_hash": require_str("config_hash", config_hash, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
            "ollama_model": require_str("ollama_model", ollama_model, nullable=True),
            "prompt_template": require_str("prompt_template", prompt_template, nullable=True),
            "target_language": require_str("target_language", target_language, nullable=True),
            "first_used_at": now,
            "last_used_at": now,
        }
        with self.write() as conn:
            conn.execute(self.storage.upsert(history, row, key=["config_hash"], update=["last_used_at"]))

    def get_translation_config_history(self) -> list[dict[str, Any]]:
        """Every configuration, most recently used first."""
        query = select(history).order_by(history.c.last_used_at.desc(), history.c.id.desc())
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    # -- glossary -------------------------------------------------------------------------------

    def add_glossary_entry(self, series_id: int, source_term: str, target_term: str, notes: str = "") -> int:
        """Insert a term (stripped; duplicates allowed, as legacy); returns its id."""
        now = now_iso()
        row = {
            "series_id": require_int("series_id", series_id),
            **clean_fields("glossary entry", _GLOSSARY_FIELDS,
                           {"source_term": source_term, "target_term": target_term, "notes": notes}),
            "created_at": now,
            "updated_at": now,
        }
        with self.write() as conn:
            return inserted_id(conn.execute(insert(glossary).values(**row)))

    def get_glossary_entries(self, series_id: int) -> list[dict[str, Any]]:
        """A series' entries by source term (binary order: upper case first), then age."""
        require_int("series_id", series_id)
        query = (select(glossary).where(glossary.c.series_id == series_id)
                 .order_by(self.storage.text_order(glossary.c.source_term), glossary.c.created_at, glossary.c.id))
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def get_glossary_for_series(self, series_id: int) -> list[dict[str, str]]:
        """The 15 most recently edited ``{source_term, target_term}`` pairs (for the prompt builder)."""
        require_int("series_id", series_id)
        query = (select(glossary.c.source_term, glossary.c.target_term)
                 .where(glossary.c.series_id == series_id)
                 .order_by(glossary.c.updated_at.desc(), glossary.c.created_at.desc(), glossary.c.id.desc())
                 .limit(GLOSSARY_PROMPT_LIMIT))
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def get_glossary_entry(self, entry_id: int) -> dict[str, Any] | None:
        require_int("entry_id", entry_id)
        with self.read() as conn:
            row = conn.execute(select(glossary).where(glossary.c.id == entry_id)).mappings().first()
        return dict(row) if row is not None else None

    def update_glossary_entry(self, entry_id: int, source_term: str | None = None, target_term: str | None = None,
                              notes: str | None = None) -> bool:
        """Set the given (stripped) fields; False when none is given or the entry does not exist."""
        require_int("entry_id", entry_id)
        values = _given(_GLOSSARY_FIELDS, "glossary entry", source_term=source_term, target_term=target_term,
                        notes=notes)
        if not values:
            return False
        with self.write() as conn:
            return conn.execute(update(glossary).where(glossary.c.id == entry_id).values(**values)).rowcount > 0

    def delete_glossary_entry(self, entry_id: int) -> bool:
        require_int("entry_id", entry_id)
        with self.write() as conn:
            return conn.execute(delete(glossary).where(glossary.c.id == entry_id)).rowcount > 0

    def delete_glossary_entries_for_series(self, series_id: int) -> int:
        require_int("series_id", series_id)
        with self.write() as conn:
            return conn.execute(delete(glossary).where(glossary.c.series_id == series_id)).rowcount

    def search_glossary_terms(self, series_id: int, query: str) -> list[dict[str, Any]]:
        """Entries whose source or target term contains ``query``, by source term.

        ASCII case-insensitive as the legacy SQLite LIKE was, on every dialect: both sides go through
        lower() in SQL (PostgreSQL's LIKE is case-sensitive). ``%``, ``_`` and ``\\`` match literally.
        """
        require_int("series_id", series_id)
        pattern = func.lower(like_contains("query", require_str("query", query)))
        matches = (func.lower(glossary.c.source_term).like(pattern, escape=LIKE_ESCAPE)
                   | func.lower(glossary.c.target_term).like(pattern, escape=LIKE_ESCAPE))
        stmt = (select(glossary).where(glossary.c.series_id == series_id, matches)
                .order_by(self.storage.text_order(glossary.c.source_term), glossary.c.id))
        with self.read() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    # -- prompt presets -------------------------------------------------------------------------

    def add_prompt_preset(self, name: str, prompt_template: str, is_default: bool = False) -> int:
        """Insert a preset (stripped); ``is_default`` moves the default to it in the same transaction.

        A duplicate name raises :class:`DuplicateError` (ValueError and sqlite3.IntegrityError) and
        changes nothing (legacy: IntegrityError after the old default had already been cleared and
        committed).
        """
        now = now_iso()
        row = {
            **clean_fields("prompt preset", _PRESET_FIELDS,
                           {"name": name, "prompt_template": prompt_template, "is_default": is_default}),
            "created_at": now,
            "updated_at": now,
        }
        with _preset_name_free(row["name"]), self.write() as conn:
            if row["is_default"]:
                self._lock_presets(conn)
                self._clear_default(conn)
            return inserted_id(conn.execute(insert(presets).values(**row)))

    def get_prompt_presets(self) -> list[dict[str, Any]]:
        """Every preset: the default first, then by name."""
        # NULLS LAST: PostgreSQL sorts NULL first in DESC order, SQLite (legacy) last.
        query = select(presets).order_by(presets.c.is_default.desc().nulls_last(), self.storage.text_order(presets.c.name),
                                         presets.c.id)
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def get_prompt_preset(self, preset_id: int) -> dict[str, Any] | None:
        require_int("preset_id", preset_id)
        with self.read() as conn:
            row = conn.execute(select(presets).where(presets.c.id == preset_id)).mappings().first()
        return dict(row) if row is not None else None

    def get_default_prompt_preset(self) -> dict[str, Any] | None:
        """The default preset, or None when none is marked (e.g. after ``is_default=False``)."""
        # Legacy had no ORDER BY; should an adopted database hold several defaults, the most recently
        # changed one wins, deterministically.
        query = (select(presets).where(presets.c.is_default == 1)
                 .order_by(presets.c.updated_at.desc(), presets.c.id.desc()).limit(1))
        with self.read() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row is not None else None

    def update_prompt_preset(self, preset_id: int, name: str | None = None, prompt_template: str | None = None,
                             is_default: bool | None = None) -> bool:
        """Set the given fields; False when none is given or the preset does not exist (then no other
        preset is touched either). ``is_default=True`` moves the default here in the same transaction;
        ``is_default=False`` un-defaults this preset and may leave none (legacy, kept)."""
        require_int("preset_id", preset_id)
        values = _given(_PRESET_FIELDS, "prompt preset", name=name, prompt_template=prompt_template,
                        is_default=is_default)
        if not values:
            return False
        with _preset_name_free(values.get("name")), self.write() as conn:
            if values.get("is_default"):
                self._lock_presets(conn)
            found = conn.execute(update(presets).where(presets.c.id == preset_id).values(**values)).rowcount > 0
            # Only a preset that exists takes the default from the others (legacy cleared them anyway).
            if found and values.get("is_default"):
                self._clear_default(conn, keep=preset_id)
            return found

    def delete_prompt_preset(self, preset_id: int) -> bool:
        """Delete a preset; refused (False) while at most one preset exists, so one always remains.
        The default preset may be deleted (legacy, kept)."""
        require_int("preset_id", preset_id)
        with self.write() as conn:
            self._lock_presets(conn)
            if conn.execute(select(func.count()).select_from(presets)).scalar_one() <= 1:
                return False
            return conn.execute(delete(presets).where(presets.c.id == preset_id)).rowcount > 0

    @staticmethod
    def _lock_presets(conn: Connection) -> None:
        # PostgreSQL: writers that move the default or delete presets queue up here, so two of them
        # never both see the old state (two defaults, or no preset left). Rows are locked in id order,
        # the same for every writer, so two lockers cannot deadlock. SQLite writers are serialised by
        # BEGIN IMMEDIATE already; FOR UPDATE is not rendered there.
        conn.execute(select(presets.c.id).order_by(presets.c.id).with_for_update()).all()

    @staticmethod
    def _clear_default(conn: Connection, keep: int | None = None) -> None:
        stmt = update(presets).where(presets.c.is_default == 1).values(is_default=0)
        if keep is not None:
            stmt = stmt.where(presets.c.id != keep)
        conn.execute(stmt)

    # -- backend stats --------------------------------------------------------------------------

    def record_backend_success(self, backend_name: str, response_time_ms: float, characters_used: int) -> None:
        """Count a successful translation. The running average covers successes only:
        ``avg = (avg * successes + rt) / (successes + 1)`` (legacy divided by all requests, so every
        failure dragged the average down as if it had taken 0 ms)."""
        rt = require_amount("response_time_ms", response_time_ms)
        now = now_iso()
        successes = func.coalesce(backends.c.successful_translations, 0)
        avg = func.coalesce(backends.c.avg_response_time_ms, 0.0)
        self._record(
            backend_name,
            counters={"total_requests": 1, "successful_translations": 1,
                      "total_characters": require_int("characters_used", characters_used, minimum=0)},
            values={"avg_response_time_ms": rt, "last_response_time_ms": rt, "last_success_at": now,
                    "consecutive_failures": 0, "updated_at": now},
            # avg + (rt - avg) / (n + 1) == (avg * n + rt) / (n + 1), without the overflow of avg * n
            on_conflict={"avg_response_time_ms": avg + (rt - avg) / (successes + 1)},
        )

    def record_backend_failure(self, backend_name: str, error_msg: str) -> None:
        """Count a failed translation; ``last_error`` keeps the first 500 characters."""
        error = require_str("error_msg", error_msg)[:LAST_ERROR_MAX_LENGTH]
        now = now_iso()
        self._record(
            backend_name,
            counters={"total_requests": 1, "failed_translations": 1, "consecutive_failures": 1},
            values={"last_failure_at": now, "last_error": error, "updated_at": now},
        )

    def get_backend_stats(self) -> list[dict[str, Any]]:
        """Every backend's row, by name."""
        with self.read() as conn:
            return [dict(row) for row in conn.execute(
                select(backends).order_by(self.storage.text_order(backends.c.backend_name))).mappings()]

    get_all_backend_stats = get_backend_stats

    def get_backend_stat(self, backend_name: str) -> dict[str, Any] | None:
        require_str("backend_name", backend_name)
        with self.read() as conn:
            row = conn.execute(select(backends).where(backends.c.backend_name == backend_name)).mappings().first()
        return dict(row) if row is not None else None

    def reset_backend_stats(self, backend_name: str) -> bool:
        """Delete the backend's row (legacy: reset means delete, not zero)."""
        require_str("backend_name", backend_name)
        with self.write() as conn:
            return conn.execute(delete(backends).where(backends.c.backend_name == backend_name)).rowcount > 0

    def _record(self, backend_name: str, counters: Mapping[str, int], values: Mapping[str, Any],
                on_conflict: Mapping[str, Any] | None = None) -> None:
        """One upsert: a new backend starts at ``counters``; an existing one adds them in SQL
        (``col = col + n``), so concurrent writers lose no update. ``on_conflict`` overrides the
        value set on an existing row."""
        require_str("backend_name", backend_name, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        changes = {name: func.coalesce(backends.c[name], 0) + n for name, n in counters.items()}
        changes.update(values)
        changes.update(on_conflict or {})
        with self.write() as conn:
            conn.execute(self.storage.upsert(backends, {"backend_name": backend_name, **counters, **values},
                                key=["backend_name"], update=changes))
