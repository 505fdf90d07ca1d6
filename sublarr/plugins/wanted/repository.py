from __future__ import annotations

import functools
import inspect
import itertools
import json
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.engine import Connection, Dialect

from sublarr.core.domain import Repository, paginate
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import (
    MAX_COMPOSITE_KEY_BYTES,
    MAX_INDEXED_BYTES,
    check_fields,
    require_choice,
    require_flag,
    require_int,
    require_str,
)
from sublarr.drivers.base import StorageDriver

from .models import wanted_items as wanted

c = wanted.c

ITEM_TYPES = ("episode", "movie")
STATUSES = ("wanted", "searching", "found", "failed", "ignored")
IDENTITY = ("file_path", "target_language", "subtitle_type")

# An upsert never writes these: a rescan keeps the row id and the search history.
_KEPT_ON_UPSERT = ("id", "last_search_at", "search_count", "error")
UPSERT_COLUMNS = tuple(col.name for col in wanted.columns if col.name not in _KEPT_ON_UPSERT)
# On conflict an existing row also keeps its identity and added_at; status and item_type follow
# the legacy rule for ignored items (a CASE in the statement).
_SET_ON_CONFLICT = tuple(n for n in UPSERT_COLUMNS if n not in (*IDENTITY, "added_at", "status", "item_type"))
_IDENTITY_AT = tuple(UPSERT_COLUMNS.index(n) for n in IDENTITY)

_UPGRADEABLE = c.upgrade_candidate == 1


def _status(value: Any) -> str:
    return require_choice("status", value, STATUSES)


def _item_type(value: Any) -> str:
    return require_choice("item_type", value, ITEM_TYPES)


def _row_dict(row: Mapping[Any, Any]) -> dict:
    """Every column in table order; ``missing_languages`` parsed ([] when empty or invalid), as legacy."""
    item = dict(row)
    item["missing_languages"] = _languages(item["missing_languages"])
    return item


# missing_languages as stored -> its list: a library repeats a handful of language lists on every row,
# and json.loads of each cost a page as much as reading it (W2); bounded, each row gets its own copy
_parsed_languages: dict[str, list[str]] = {}


def _languages(text: str | None) -> Any:
    if not text:
        return []
    cached = _parsed_languages.get(text)
    if cached is not None:
        return cached.copy()
    try:
        value = json.loads(text)
    except ValueError:
        return []
    if type(value) is list and all(type(v) is str for v in value):
        if len(_parsed_languages) >= 256:
            _parsed_languages.clear()
        _parsed_languages[text] = value.copy()
    return value


def _chunks(values: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


@dataclass(frozen=True)
class _MultiRowUpsert:
    """The wanted upsert for n rows in one statement, compiled once per dialect.

    SQLAlchemy compiles the one-row statement (a Core construct); its VALUES group is then
    repeated for each row of a batch, and the batch's values go to the driver as one flat
    positional list. This is what SQLAlchemy's insertmanyvalues and psycopg2's execute_values
    do internally, minus their per-row parameter processing, which cost more than the
    database work for a library scan of 10^5 items.
    """

    head: str  # INSERT INTO wanted_items (...) VALUES
    group: str  # (?, ?, ...) or (%s, %s, ...)
    tail: str  # ON CONFLICT ... DO UPDATE SET ... [RETURNING ...]
    tail_params: tuple  # values of bound constants after the VALUES group
    rows_per_batch: int
    returning: bool  # RETURNING id + identity (SQLite >= 3.35, PostgreSQL)

    @classmethod
    def compile(cls, dialect: Dialect, statement, returning: bool) -> _MultiRowUpsert:
        # One flat list of values needs positional placeholders: psycopg2's dialect renders
        # named ones (pyformat), while the driver accepts its positional "format" style too.
        positional = dialect if dialect.positional else type(dialect)(paramstyle="format")
        compiled = statement.compile(dialect=positional)
        sql, names = compiled.string, list(compiled.positiontup)
        if names[:len(UPSERT_COLUMNS)] != list(UPSERT_COLUMNS):
            raise RuntimeError(f"unexpected parameter order in the wanted upsert: {names}")
        start = sql.index(" VALUES (") + len(" VALUES ")
        end = sql.index(")", start) + 1
        tail_names = names[len(UPSERT_COLUMNS):]
        # SQLite caps bound parameters (999 before 3.32); SQLAlchemy knows each driver's cap.
        room = dialect.insertmanyvalues_max_parameters - len(tail_names)
        return cls(head=sql[:start], group=sql[start:end], tail=sql[end:],
                   tail_params=tuple(compiled.params[n] for n in tail_names),
                   rows_per_batch=max(1, min(dialect.insertmanyvalues_page_size, room // len(UPSERT_COLUMNS))),
                   returning=returning and dialect.insert_returning)

    def run(self, conn: Connection, rows: Sequence[tuple]) -> list:
        sql = self.head + ", ".join([self.group] * len(rows)) + self.tail
        params = [value for row in rows for value in row]
        params.extend(self.tail_params)
        result = conn.exec_driver_sql(sql, tuple(params))
        return result.all() if self.returning else []


class WantedRepository(Repository):
    """Wanted items (legacy ``db/wanted.py`` and the repository layer's ``WantedRepository``).

    Identity: (file_path, target_language, subtitle_type), enforced by ``uq_wanted_identity``
    (revision wanted_0002) and used by every upsert as ``ON CONFLICT`` key, so concurrent
    scanners (threads or processes) never create duplicates. The legacy layer only had a
    check-then-insert under a process-wide lock.

    Kept from legacy: an upsert keeps ``added_at``, ``search_count``, ``last_search_at`` and
    ``error`` (error is not cleared when an item returns to 'wanted'); an ``ignored`` item keeps
    its status and item_type; None ids overwrite stored ids; ``upgrade_candidate`` is a 0/1
    int in row dicts; pages are newest first by ``added_at``.
    Changed: status/item_type outside their vocabularies raise ValueError; pages break
    ``added_at`` ties by id (stable paging over rows of one scan); status updates, search
    marks and deletes report whether a row was found; "first row" lookups take the lowest id.
    """

    domain = "wanted"

    def __init__(self, kernel):
        super().__init__(kernel)
        self._upsert = _MultiRowUpsert.compile(self.engine.dialect, self._upsert_statement(returning=True),
                                               returning=True)

    @functools.cached_property
    def _upsert_only(self) -> _MultiRowUpsert:
        """The upsert without RETURNING, for writes that collect no ids."""
        return _MultiRowUpsert.compile(self.engine.dialect, self._upsert_statement(returning=False),
                                       returning=False)

    def _upsert_statement(self, returning: bool):
        ignored = c.status == "ignored"

        def on_conflict(new):
            set_ = {n: new[n] for n in _SET_ON_CONFLICT}
            # Legacy rule: an ignored item stays ignored (and keeps its item_type); any other
            # status goes back to 'wanted'. Evaluated on the stored row inside the upsert itself.
            set_["status"] = case((ignored, c.status), else_=new["status"])
            set_["item_type"] = case((ignored, c.item_type), else_=new["item_type"])
            return set_

        stmt = self.storage.upsert(wanted, {n: bindparam(n) for n in UPSERT_COLUMNS}, key=IDENTITY,
                                   update=on_conflict)
        if not returning:
            return stmt.inline()  # no implicit RETURNING of the new id either (PostgreSQL adds one)
        if self.engine.dialect.insert_returning:
            stmt = stmt.returning(c.id, *(c[n] for n in IDENTITY))
        return stmt

    # -- writes ---------------------------------------------------------------------------------

    def upsert_wanted_item(self, item_type: str, file_path: str, title: str = "", season_episode: str = "",
                           existing_sub: str = "", missing_languages: list | None = None,
                           sonarr_series_id: int | None = None, sonarr_episode_id: int | None = None,
                           radarr_movie_id: int | None = None, standalone_series_id: int | None = None,
                           standalone_movie_id: int | None = None, upgrade_candidate: bool = False,
                           current_score: int = 0, target_language: str = "", instance_name: str = "",
                           subtitle_type: str = "full") -> int:
        """Insert or update the item with this identity; returns its id (legacy rules, see the class).

        ``target_language=None`` means '' and ``subtitle_type=None`` means 'full', as the legacy
        lookup and the identity migration treat NULL.
        """
        arguments = locals()  # exactly the item fields (plus self), with their defaults applied
        return self.upsert_wanted_items([{name: arguments[name] for name in _FIELD_NAMES}])[0]

    def upsert_wanted_items(self, items: Sequence[Mapping[str, Any]]) -> list[int]:
        """Upsert many items (a library scan) in one transaction; ids in input order.

        Each item is a dict of ``upsert_wanted_item``'s arguments. The same rules apply, and the
        result is what calling ``upsert_wanted_item`` for each item in turn would leave (an
        identity given twice: the later item wins). Every item is validated before anything is
        written. Rows go in as batched ``INSERT ... ON CONFLICT DO UPDATE`` statements, ordered
        by identity so that concurrent scans lock rows in one order (no deadlock on PostgreSQL).
        Memory grows with the number of items (all are validated first, the ids are returned);
        ``upsert_wanted_items_in_batches`` takes a scan of any size in bounded memory.
        """
        # iterated once, never copied: a scan fed from a generator does not hold every input dict
        # alongside its rows (peak of 100k generated items on SQLite: 105.8 MB with the copy, 89.0 MB without)
        keys, latest = _validated(enumerate(_iterable("items", items)), now_iso())
        if not keys:
            return []
        rows = [latest[key] for key in sorted(latest)]
        ids: dict[tuple, int] = {}

        def write_all() -> None:
            ids.clear()
            with self.write() as conn:
                for batch in _chunks(rows, self._upsert.rows_per_batch):
                    returned = self._upsert.run(conn, batch)
                    if not self._upsert.returning:  # no RETURNING (old SQLite, MySQL): look the ids up
                        paths = list({row[_IDENTITY_AT[0]] for row in batch})
                        returned = conn.execute(select(c.id, *(c[n] for n in IDENTITY))
                                                .where(c.file_path.in_(paths)))
                    ids.update(((path, language, kind), id_) for id_, path, language, kind in returned)

        # The whole scan is one idempotent transaction: where the engine still picks it as a deadlock
        # victim (MariaDB locks key ranges in hash order, not in the identity order used here), it is
        # rolled back whole and simply run again.
        self.storage.retry_conflicts(write_all)
        self.kernel.storage.after_bulk_write(wanted.name, len(rows))
        return [ids[key] for key in keys]

    def upsert_wanted_items_in_batches(self, items: Iterable[Mapping[str, Any]], batch_size: int = 5000) -> int:
        """Upsert a library scan of any size in bounded memory, one transaction per batch; returns
        the number of items taken.

        The items (dicts of ``upsert_wanted_item``'s arguments, from any iterable: a generator
        keeps the scan itself out of memory) go in as ``upsert_wanted_items`` writes them, with the
        same rules and the same result (an identity given twice: the later item wins, also across
        batches), ``batch_size`` items at a time. Each batch is validated whole and then committed,
        so memory is bounded by the batch, not by the scan, and no ids are collected. A bad item
        stops the scan with a ValueError naming its position and how many items before its batch
        were written; nothing of its batch or after it is. A batch the engine rolls back as a
        deadlock victim is run again on its own.
        """
        size = require_int("batch_size", batch_size, minimum=1)
        numbered = enumerate(_iterable("items", items))
        now = now_iso()  # one scan, one time: its items page in input order (ties broken by id)
        taken = 0
        try:
            while batch := list(itertools.islice(numbered, size)):
                try:
                    _keys, latest = _validated(batch, now)
                except ValueError as exc:
                    raise ValueError(f"{exc} (the {taken:,} items before its batch were written; "
                                     f"none from item {taken:,} on)") from None
                rows = [latest[key] for key in sorted(latest)]

                def write_batch(rows: list[tuple] = rows) -> None:
                    with self.write() as conn:
                        for chunk in _chunks(rows, self._upsert_only.rows_per_batch):
                            self._upsert_only.run(conn, chunk)

                self.storage.retry_conflicts(write_batch)
                taken += len(batch)
        finally:
            if taken:
                self.kernel.storage.after_bulk_write(wanted.name, taken)
        return taken

    def update_wanted_status(self, item_id: int, status: str, error: str = "") -> bool:
        """Set status and error (overwritten with '' when not given, as legacy); False if no such item."""
        return self._update_item(item_id, status=_status(status), error=require_str("error", error),
                                 updated_at=now_iso())

    def update_wanted_search(self, item_id: int) -> bool:
        """Count a search (``search_count + 1`` in SQL, so concurrent marks all count); False if no such item."""
        now = now_iso()
        return self._update_item(item_id, search_count=func.coalesce(c.search_count, 0) + 1,
                                 last_search_at=now, updated_at=now)

    mark_search_attempted = update_wanted_search

    def _update_item(self, item_id: int, **values: Any) -> bool:
        item_id = _int_id(item_id)
        with self.write() as conn:
            return conn.execute(wanted.update().where(c.id == item_id).values(**values)).rowcount > 0

    def delete_wanted_items_by_ids(self, item_ids: Iterable[int]) -> int:
        """Delete the items with these ids; returns how many existed (0 for an empty list)."""
        ids = [_int_id(i) for i in _as_list("item_ids", item_ids)]
        return self._delete_where_in(c.id, ids)

    def delete_wanted_item(self, item_id: int) -> bool:
        return self.delete_wanted_items_by_ids([item_id]) > 0

    def delete_wanted_items(self, file_paths: Iterable[str]) -> int:
        """Delete every item (all languages and types) of these files; returns how many."""
        paths = [require_str("file_path", p) for p in _as_list("file_paths", file_paths)]
        return self._delete_where_in(c.file_path, paths)

    def delete_wanted_by_file_path(self, file_path: str) -> int:
        return self.delete_wanted_items([file_path])

    def _delete_where_in(self, column, values: list) -> int:
        deleted = 0
        with self.write() as conn:
            for chunk in _chunks(values, self.engine.dialect.insertmanyvalues_max_parameters):
                deleted += conn.execute(wanted.delete().where(column.in_(chunk))).rowcount
        return deleted

    # -- reads ----------------------------------------------------------------------------------

    def get_wanted_items(self, page: int = 1, per_page: int = 50, item_type: str | None = None,
                         status: str | None = None, series_id: int | None = None,
                         subtitle_type: str | None = None) -> dict:
        """Paginated, newest first. Filters are AND-ed; item_type/status/subtitle_type apply when
        truthy and series_id (``sonarr_series_id``) when not None, as legacy."""
        query = select(wanted)
        if item_type:
            query = query.where(c.item_type == _item_type(item_type))
        if status:
            query = query.where(c.status == _status(status))
        if series_id is not None:
            query = query.where(c.sonarr_series_id == require_int("series_id", series_id))
        if subtitle_type:
            query = query.where(c.subtitle_type == require_str("subtitle_type", subtitle_type))
        with self.read() as conn:
            return paginate(conn, query, page, per_page, [c.added_at.desc(), c.id.desc()], row=_row_dict)

    def get_wanted_item(self, item_id: int) -> dict | None:
        return self._first(c.id == _int_id(item_id))

    def get_wanted_by_file_path(self, file_path: str, target_language: str | None = None,
                                subtitle_type: str | None = None) -> dict | None:
        """The item of this file (lowest id), optionally of one language and/or type (when not None)."""
        where = [c.file_path == require_str("file_path", file_path)]
        if target_language is not None:
            where.append(c.target_language == require_str("target_language", target_language))
        if subtitle_type is not None:
            where.append(c.subtitle_type == require_str("subtitle_type", subtitle_type))
        return self._first(*where)

    get_wanted_item_by_path = get_wanted_by_file_path

    def find_wanted_by_episode(self, sonarr_episode_id: int, target_language: str = "") -> dict | None:
        """The item of this Sonarr episode (lowest id), of ``target_language`` when it is not empty."""
        where = [c.sonarr_episode_id == require_int("sonarr_episode_id", sonarr_episode_id)]
        if require_str("target_language", target_language or ""):
            where.append(c.target_language == target_language)
        return self._first(*where)

    def _first(self, *where) -> dict | None:
        with self.read() as conn:
            row = conn.execute(select(wanted).where(*where).order_by(c.id).limit(1)).mappings().first()
        return _row_dict(row) if row is not None else None

    def get_wanted_for_series(self, sonarr_series_id: int) -> list[dict]:
        """Every item of this Sonarr series, in id order."""
        return self._all(c.sonarr_series_id == require_int("sonarr_series_id", sonarr_series_id))

    def get_wanted_for_movie(self, radarr_movie_id: int) -> list[dict]:
        """Every item of this Radarr movie, in id order."""
        return self._all(c.radarr_movie_id == require_int("radarr_movie_id", radarr_movie_id))

    def _all(self, *where) -> list[dict]:
        with self.read() as conn:
            return [_row_dict(r) for r in conn.execute(select(wanted).where(*where).order_by(c.id)).mappings()]

    def get_wanted_count(self, status: str | None = None) -> int:
        """Number of items, of one status when ``status`` is truthy."""
        return self._count(c.status == _status(status) if status else None)

    def get_upgradeable_count(self) -> int:
        return self._count(_UPGRADEABLE)

    def _count(self, where=None) -> int:
        with self.read() as conn:
            return conn.execute(_count_of(where)).scalar_one()

    def get_wanted_summary(self) -> dict:
        """``{total, by_type, by_status, by_existing, upgradeable}``; existing_sub '' or NULL counts as
        "none" (legacy overwrote one bucket with the other; here they are summed)."""
        with self.read() as conn:
            groups = {name: _grouped(conn, c[name], self.storage) for name in ("item_type", "status", "existing_sub")}
            upgradeable = conn.execute(_count_of(_UPGRADEABLE)).scalar_one()
        return {
            "total": sum(groups["item_type"].values()),
            "by_type": groups["item_type"],
            "by_status": groups["status"],
            "by_existing": _merge_empty(groups["existing_sub"], "none"),
            "upgradeable": upgradeable,
        }

    def get_wanted_by_subtitle_type(self) -> dict[str, int]:
        """``{subtitle_type: n}``; '' (and legacy NULL) count as "full", summed with it."""
        with self.read() as conn:
            return _merge_empty(_grouped(conn, c.subtitle_type, self.storage), "full")

    def get_wanted_count_by_series(self) -> dict[int, int]:
        """``{sonarr_series_id: n}`` of the items in status ``wanted`` that belong to a series, in
        series id order (the profiles domain's ``get_series_missing_counts``)."""
        with self.read() as conn:
            rows = conn.execute(
                select(c.sonarr_series_id, func.count())
                .where(c.sonarr_series_id.is_not(None), c.status == "wanted")
                .group_by(c.sonarr_series_id)
                .order_by(c.sonarr_series_id)
            ).all()
        return dict(rows)

    def get_all_wanted_file_paths(self) -> set[str]:
        with self.read() as conn:
            return set(conn.execute(select(c.file_path)).scalars())

    def cleanup_wanted_items(self, instance_name: str | None = None) -> list[dict]:
        """``[{id, file_path, target_language, instance_name}]`` in id order (None read as ''),
        only the items of ``instance_name`` when it is given (the legacy repository ignored it)."""
        query = select(c.id, c.file_path, c.target_language, c.instance_name).order_by(c.id)
        if instance_name is not None:
            query = query.where(c.instance_name == require_str("instance_name", instance_name))
        with self.read() as conn:
            return [{"id": id_, "file_path": path, "target_language": language or "", "instance_name": instance or ""}
                    for id_, path, language, instance in conn.execute(query)]

    get_wanted_items_for_cleanup = cleanup_wanted_items


@dataclass(frozen=True)
class _Field:
    """One field of a wanted item as ``upsert_wanted_item`` takes it (an item dict of
    ``upsert_wanted_items`` has the same keys): its name, its kind (the check it gets), its
    default (``_REQUIRED``: none), and for a text field what a None stands for (the legacy lookup
    and the identity migration read NULL as this), if it may be None at all."""

    name: str
    kind: str  # "item_type" | "text" | "id" (int or None) | "languages" | "flag" | "int"
    default: Any
    none_means: str | None = None


_REQUIRED = inspect.Parameter.empty

# The item's fields, declared once, in the order of upsert_wanted_item's parameters (checked below).
# Each is a column of the same name that the upsert writes (UPSERT_COLUMNS); the upsert adds
# status, added_at and updated_at, and an update on conflict keeps what _SET_ON_CONFLICT leaves out.
ITEM_FIELDS = (
    _Field("item_type", "item_type", _REQUIRED),
    _Field("file_path", "text", _REQUIRED),
    _Field("title", "text", ""),
    _Field("season_episode", "text", ""),
    _Field("existing_sub", "text", ""),
    _Field("missing_languages", "languages", None),
    _Field("sonarr_series_id", "id", None),
    _Field("sonarr_episode_id", "id", None),
    _Field("radarr_movie_id", "id", None),
    _Field("standalone_series_id", "id", None),
    _Field("standalone_movie_id", "id", None),
    _Field("upgrade_candidate", "flag", False),
    _Field("current_score", "int", 0),
    _Field("target_language", "text", "", none_means=""),
    _Field("instance_name", "text", ""),
    _Field("subtitle_type", "text", "full", none_means="full"),
)
_SET_BY_UPSERT = ("status", "added_at", "updated_at")


def _check_declaration(function: Any, fields: Sequence[_Field]) -> None:
    """``function``'s parameters (after self) are exactly ``fields``: names, order and defaults, and
    the fields with the upsert's own columns are exactly the columns it writes. RuntimeError if not,
    at import: the signature (a real ``def``, for readers and tools) cannot drift from the fields."""
    parameters = [(p.name, p.default) for p in list(inspect.signature(function).parameters.values())[1:]]
    declared = [(f.name, f.default) for f in fields]
    if parameters != declared:
        raise RuntimeError(f"{function.__qualname__} takes {parameters}, but the wanted item's fields are {declared}")
    if sorted([*(f.name for f in fields), *_SET_BY_UPSERT]) != sorted(UPSERT_COLUMNS):
        raise RuntimeError(f"the wanted item's fields do not match the upserted columns {UPSERT_COLUMNS}")


_check_declaration(WantedRepository.upsert_wanted_item, ITEM_FIELDS)

_FIELD_NAMES = tuple(f.name for f in ITEM_FIELDS)
_ITEM_KEYS = frozenset(_FIELD_NAMES)
_ITEM_DEFAULTS = {f.name: f.default for f in ITEM_FIELDS if f.default is not _REQUIRED}
_REQUIRED_FIELDS = tuple(f.name for f in ITEM_FIELDS if f.default is _REQUIRED)
_REQUIRED_KEYS = frozenset(_REQUIRED_FIELDS)
_NONE_MEANS = {f.name: f.none_means for f in ITEM_FIELDS if f.none_means is not None}
# Checked in column order (the first bad one is named).
_KINDS = {f.name: f.kind for f in ITEM_FIELDS}
_TEXT_FIELDS = tuple(n for n in UPSERT_COLUMNS if _KINDS.get(n) == "text")
_ID_FIELDS = tuple(n for n in UPSERT_COLUMNS if _KINDS.get(n) == "id")
_TEXTS = operator.itemgetter(*_TEXT_FIELDS)
_IDS = operator.itemgetter(*_ID_FIELDS)
_ROW = operator.itemgetter(*UPSERT_COLUMNS)  # an item dict (with the upsert's own columns) as a row
_languages_json: dict[tuple, str] = {}  # a scan repeats a handful of language lists 10^5 times


def _item_row(item: Mapping[str, Any], now: str) -> tuple:
    """One upsert row (``UPSERT_COLUMNS`` order) from an item dict, validated.

    Called once per item of a library scan, so the checks are the cheapest that are exact:
    one ``str.join`` type-checks the text fields and finds NUL characters in one pass.
    """
    if not isinstance(item, dict):
        if not isinstance(item, Mapping):
            raise ValueError(f"must be a dict, got {type(item).__name__}")
        item = dict(item)
    if not item.keys() <= _ITEM_KEYS:
        check_fields(_FIELD_NAMES, item, "wanted item")
    if not item.keys() >= _REQUIRED_KEYS:
        raise ValueError(f"{' and '.join(_REQUIRED_FIELDS)} are required")
    values = {**_ITEM_DEFAULTS, **item}
    for name in _NONE_MEANS:
        if values[name] is None:
            values[name] = _NONE_MEANS[name]
    texts = _TEXTS(values)
    try:
        joined = "".join(texts)
    except TypeError:
        bad = next(n for n, v in zip(_TEXT_FIELDS, texts) if not isinstance(v, str))
        raise ValueError(f"{bad} must be a string") from None
    if "\x00" in joined:
        raise ValueError("text fields must not contain NUL characters")
    file_path, language, kind = values["file_path"], values["target_language"], values["subtitle_type"]
    if not file_path or not kind:
        raise ValueError("file_path and subtitle_type must not be empty")
    if len(file_path) + len(language) + len(kind) > MAX_INDEXED_BYTES // 4:  # indexed: cap the UTF-8 size
        for name, value in (("file_path", file_path), ("target_language", language), ("subtitle_type", kind)):
            require_str(name, value, max_bytes=MAX_INDEXED_BYTES)
        require_str("file_path + target_language + subtitle_type", file_path + language + kind,
                    max_bytes=MAX_COMPOSITE_KEY_BYTES)
    for name, value in zip(_ID_FIELDS, _IDS(values)):
        if value is not None:
            require_int(name, value)
    values["item_type"] = _item_type(values["item_type"])
    values["missing_languages"] = _missing_languages(values["missing_languages"])
    values["upgrade_candidate"] = require_flag("upgrade_candidate", values["upgrade_candidate"])
    values["current_score"] = require_int("current_score", values["current_score"])
    values["status"] = "wanted"
    values["added_at"] = values["updated_at"] = now
    return _ROW(values)


def _validated(numbered: Iterable[tuple[int, Any]], now: str) -> tuple[list[tuple], dict[tuple, tuple]]:
    """The identities of ``(position, item)`` pairs in input order, and each identity's row from
    its latest item; ValueError naming the position of the first bad item."""
    keys: list[tuple] = []
    latest: dict[tuple, tuple] = {}
    for position, item in numbered:
        try:
            row = _item_row(item, now)
        except ValueError as exc:
            raise ValueError(f"wanted item {position}: {exc}") from None
        key = (row[_IDENTITY_AT[0]], row[_IDENTITY_AT[1]], row[_IDENTITY_AT[2]])
        keys.append(key)
        latest[key] = row
    return keys, latest


def _missing_languages(languages: Any) -> str:
    """The stored JSON list (legacy ``json.dumps(missing_languages or [])``) of language codes."""
    if not languages:
        languages = ()
    elif not isinstance(languages, (list, tuple)):
        raise ValueError(f"missing_languages must be a list of strings, got {type(languages).__name__}")
    key = tuple(languages)
    try:
        text = _languages_json.get(key)
    except TypeError:  # unhashable elements: not language codes, refused below
        text = None
    if text is None:
        if not all(isinstance(code, str) for code in key):
            raise ValueError(f"missing_languages must be a list of strings, got {list(key)!r}")
        if len(_languages_json) >= 1024:  # bounded: item lists are not always repetitive
            _languages_json.clear()
        text = _languages_json[key] = json.dumps(list(key))
    return text


def _int_id(value: Any) -> int:
    return require_int("item_id", value, bits=64)  # BIGINT on PostgreSQL since wanted_0004


def _iterable(name: str, values: Any) -> Iterable:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValueError(f"{name} must be a list, got {type(values).__name__}")
    return values


def _as_list(name: str, values: Any) -> list:
    return list(_iterable(name, values))


def _count_of(where=None):
    query = select(func.count()).select_from(wanted)
    return query if where is None else query.where(where)


def _grouped(conn: Connection, column, storage: StorageDriver) -> dict:
    """``{value: count}`` in code-point order of the values (the legacy key order on every engine)."""
    return dict(conn.execute(select(column, func.count()).group_by(column).order_by(storage.text_order(column))).all())


def _merge_empty(counts: dict, into: str) -> dict:
    """Legacy buckets '' and NULL under one key, summed."""
    merged: dict = {}
    for key, n in counts.items():
        key = key or into
        merged[key] = merged.get(key, 0) + n
    return merged
