"""What a domain plugin registers, and the helpers its repository uses.

A domain plugin returns :class:`Domain` objects from the ``sublarr_domains`` hook::

    Domain(name="wanted", version="1.0", tables=[wanted_items],
           migrations=Path(__file__).parent / "migrations", repository=WantedRepository,
           legacy_tables=("wanted_items",))

Each public method of the repository is one short transaction; the package exposes the
same methods as module functions acting on the active kernel (:func:`export`).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlalchemy import Select, Table, and_, case, delete, func, or_, select
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

# The value checks live in sublarr.core.validation; repositories (and plugins written before it)
# import them from here too.
from sublarr.core.validation import MAX_COMPOSITE_KEY_BYTES as MAX_COMPOSITE_KEY_BYTES
from sublarr.core.validation import MAX_INDEXED_BYTES as MAX_INDEXED_BYTES
from sublarr.core.validation import check_fields as check_fields
from sublarr.core.validation import check_text
from sublarr.core.validation import require_int as require_int
from sublarr.core.validation import require_str as require_str
from sublarr.core.validation import to_json as to_json

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel


@dataclass(frozen=True)
class Domain:
    name: str
    repository: type[Repository] | Mapping[str, type[Repository]]
    tables: Sequence[Table] = ()
    migrations: Path | str | None = None  # folder of Alembic revision files (one linear history)
    version: str = "0"
    # Domains whose repositories this one reads (never their tables): their migrations run first,
    # and without them this domain's plugin is disabled.
    requires: Sequence[str] = field(default_factory=tuple)
    # Tables of a legacy (pre-Alembic) Sublarr database this domain takes over when one is adopted
    # (``sublarr.core.adopt``); its baseline revision must create them.
    legacy_tables: Sequence[str] = field(default_factory=tuple)

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    def repository_for(self, storage_name: str) -> type[Repository] | None:
        if isinstance(self.repository, Mapping):
            return self.repository.get(storage_name) or self.repository.get("*")
        return self.repository


_R = TypeVar("_R", bound="Repository")


class Repository:
    """Base of domain repositories: short transactions on the kernel's engine.

    Every public method of a subclass is wrapped by :func:`guard_arguments`: a lone surrogate in a
    string argument, or an integer outside 64 bits, raises ``ValueError`` naming the parameter
    before any statement runs, on every engine (a raw codec error / ``OverflowError`` /
    ``DataError`` before).
    """

    domain: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wrapped: dict[int, Callable] = {}  # aliases (``b = a``) keep sharing one function
        for name, member in list(vars(cls).items()):
            if name.startswith("_") or not inspect.isfunction(member) or getattr(member, "_sublarr_guarded", False):
                continue
            if id(member) not in wrapped:
                wrapped[id(member)] = guard_arguments(member)
            setattr(cls, name, wrapped[id(member)])

    def __init__(self, kernel: Kernel):
        self.kernel = kernel
        self.settings = kernel.settings
        self.engine = kernel.engine
        self.storage = kernel.storage  # engine differences: upserts, features (never an engine's name)
        self._read_engine = kernel.engine.execution_options(**kernel.storage.read_options())
        self._write_lock = kernel.storage.write_lock()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: commit on success, rollback and re-raise on error."""
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction (deferred on SQLite, so it never waits on writers).

        A read inside another read of the same kernel (this thread), also through another domain's
        repository, joins it: a domain that reads another's data through that domain's repository
        still reads one snapshot.
        """
        outer = _current_read.get()
        if outer is not None and outer[0] is self.engine:
            yield outer[1]
            return
        with self._read_engine.connect() as conn:
            token = _current_read.set((self.engine, conn))
            try:
                yield conn
            finally:
                _current_read.reset(token)
                conn.rollback()

    @overload
    def repo(self, name: str) -> Repository: ...
    @overload
    def repo(self, name: str, kind: type[_R]) -> _R: ...

    def repo(self, name: str, kind: type[Repository] | None = None) -> Repository:
        """Domain ``name``'s repository (see ``Kernel.repo``; ``kind`` types and checks it)."""
        return self.kernel.repo(name) if kind is None else self.kernel.repo(name, kind)

    def _delete_all_or_matching(self, table: Table, column: str, value: str | None) -> int:
        """Delete the rows of ``table`` whose ``column`` is ``value``, or every row when ``value`` is
        None or ``""`` (the legacy layer's truthiness check); a value that is not a string is refused
        (ValueError naming ``column``). Returns how many rows went."""
        if value is not None:
            require_str(column, value)
        statement = delete(table)
        if value:
            statement = statement.where(table.c[column] == value)
        with self.write() as conn:
            return conn.execute(statement).rowcount


# The read transaction this thread (context) is in, with its kernel's engine: see Repository.read.
_current_read: ContextVar[tuple[Engine, Connection] | None] = ContextVar("sublarr_current_read", default=None)


# -- helpers shared by every domain --------------------------------------------------------------

# LIMIT/OFFSET are 64-bit on every engine (SQLite binds an int64, PostgreSQL a bigint).
MAX_ROWS = 2 ** 63 - 1
# SQLite refuses a LIKE pattern above SQLITE_MAX_LIKE_PATTERN_LENGTH (50,000 bytes) with "LIKE or
# GLOB pattern too complex"; the same bound applies on every engine.
MAX_LIKE_PATTERN_BYTES = 50_000


def check_page(page: int, per_page: int) -> None:
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise ValueError(f"page must be an integer >= 1, got {page!r}")
    if not isinstance(per_page, int) or isinstance(per_page, bool) or per_page < 1:
        raise ValueError(f"per_page must be an integer >= 1, got {per_page!r}")
    if per_page > MAX_ROWS:
        raise ValueError(f"per_page must be at most {MAX_ROWS}, got {per_page}")
    if (page - 1) * per_page > MAX_ROWS:
        raise ValueError(f"page is out of range: page {page} of {per_page} rows starts beyond row {MAX_ROWS}")


def check_limit(limit: int, name: str = "limit") -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {limit!r}")
    if limit > MAX_ROWS:
        raise ValueError(f"{name} must be at most {MAX_ROWS}, got {limit}")
    return limit


_INT64 = (-(2 ** 63), 2 ** 63 - 1)
# Exact types whose check is decided by the type alone (bool, float, None: nothing to check) or by one
# cheap test (an ASCII str holds no surrogate; an int in 64 bits): the guard's fast path.
_PASSING = frozenset({str, int, bool, float, type(None)})


def _check_argument(name: str, value: Any) -> None:
    if isinstance(value, str):
        check_text(name, value)
    elif isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{name} must fit in 64 bits, got {value}")


def _check_shallow(name: str, value: Any) -> None:
    """The value itself and, for a list/tuple/set/dict, its items (one level: bulk calls stay cheap,
    and their items' fields go through the domain's own checks)."""
    _check_argument(name, value)
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            if isinstance(item, (str, int)):
                _check_argument(f"{name} item", item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                check_text(f"{name} key", key)
            if isinstance(item, (str, int)):
                _check_argument(f"{name}[{key!r}]" if isinstance(key, str) and key.isascii() else f"{name} value",
                                item)


def _positional_names(method: Callable) -> list[str]:
    parameters = list(inspect.signature(method).parameters.values())[1:]  # without self
    return [p.name for p in parameters
            if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]


def guard_arguments(method: Callable) -> Callable:
    """Wrap a repository method so its arguments pass :func:`_check_shallow` before it runs."""
    # the parameter names are read on the first call with positional arguments, not at import:
    # inspect.signature of every public method of every repository was ~3% of `sublarr status`
    positional: list[str] | None = None

    def check(name: str, value: Any) -> None:
        kind = type(value)
        if kind in _PASSING:  # the common cases first: this runs before every repository call
            if kind is str and not value.isascii():
                check_text(name, value)
            elif kind is int and not _INT64[0] <= value <= _INT64[1]:
                _check_argument(name, value)
        elif isinstance(value, (str, int, list, tuple, set, frozenset, Mapping)):
            _check_shallow(name, value)

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        nonlocal positional
        if args:
            names = positional
            if names is None:
                names = positional = _positional_names(method)
            for index, value in enumerate(args):
                check(names[index] if index < len(names) else f"argument {index + 1}", value)
        for name, value in kwargs.items():
            check(name, value)
        return method(self, *args, **kwargs)

    guarded._sublarr_guarded = True
    return guarded


def like_contains(name: str, text: str) -> str:
    """The LIKE pattern ``%text%`` (escaped with :data:`LIKE_ESCAPE`), refused with a ValueError
    naming ``name`` when longer than SQLite's limit of :data:`MAX_LIKE_PATTERN_BYTES`."""
    pattern = f"%{escape_like(text)}%"
    size = len(pattern.encode("utf-8", "surrogatepass"))
    if size > MAX_LIKE_PATTERN_BYTES:
        raise ValueError(f"{name} is too long to search for: {size} bytes once escaped, "
                         f"at most {MAX_LIKE_PATTERN_BYTES}")
    return pattern


def paginate(conn: Connection, query: Select, page: int, per_page: int, order: Sequence[UnaryExpression],
             row: Callable[[Mapping[str, Any]], dict] = dict) -> dict:
    """``{"data", "page", "per_page", "total", "total_pages"}`` for ``query`` (its own ORDER BY is
    dropped) in ``order``: ``column.asc()`` / ``column.desc()`` clauses whose last column is the table's
    primary key, so the order is total and every row has one place.

    Deep pages cost what the database skips, so a page is read from whichever end is nearer
    (the last page of 100k rows skips nothing), and the skipping walks the primary key only,
    on the ordering index, before the page's full rows are fetched (a deferred join).
    """
    check_page(page, per_page)
    key = _order_key(order)
    query = query.order_by(None)  # an ORDER BY of the caller's would come before ``order`` and win
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    offset = (page - 1) * per_page
    after = total - offset - per_page  # rows behind this page
    if offset >= total:
        data = []
    elif after < offset:  # nearer the end: walk from there and turn the page around
        data = _window(conn, query, key, [_reversed(c) for c in order], min(per_page, total - offset),
                       max(0, after))[::-1]
    else:
        data = _window(conn, query, key, order, per_page, offset)
    return {
        "data": [row(r) for r in data],
        "page": page,
        "per_page": per_page,
        "total": total,
        "total_pages": max(1, math.ceil(total / per_page)),
    }


def _window(conn: Connection, query: Select, key, order, limit: int, offset: int) -> list:
    if offset:  # a join, not IN (...): SQLite would walk the whole filter to test membership
        keys = query.with_only_columns(key).order_by(*order).limit(limit).offset(offset).subquery()
        query = query.join(keys, key == keys.c[0])
    else:
        query = query.limit(limit)
    # plain dicts from the row tuples, one fetchall: a RowMapping per row (fetched one by one), then
    # dict(mapping) key by key, cost more than SQLite's own work on a page (W2 page 1)
    result = conn.execute(query.order_by(*order))
    names = tuple(result.keys())
    return [dict(zip(names, values, strict=True)) for values in result.fetchall()]


def _order_key(order: Sequence[UnaryExpression]):
    if not order or any(getattr(c, "modifier", None) not in (operators.asc_op, operators.desc_op) for c in order):
        raise TypeError("order must be column.asc() / column.desc() clauses")
    key = order[-1].element
    table = getattr(key, "table", None)
    if table is None or list(table.primary_key.columns) != [key]:
        raise TypeError(f"the last order column must be its table's primary key, got {key}")
    return key


def _reversed(clause: UnaryExpression) -> UnaryExpression:
    """ASC for DESC and back: the exact reverse on every engine, NULLs included (NULLS FIRST/LAST
    follow the direction on SQLite, PostgreSQL and MariaDB alike), since the order is total."""
    return clause.element.asc() if clause.modifier is operators.desc_op else clause.element.desc()


LIKE_ESCAPE = "\\"


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and the escape character so user text matches literally in LIKE."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def starts_with(column, prefix: str):
    """Case-sensitive, literal prefix match on every dialect (SQLite's LIKE ignores ASCII case)."""
    return func.substr(column, 1, len(prefix)) == prefix


def is_or_extends(column, base: str, separator: str, *, binary_text: bool):
    """``column`` is ``base`` or starts with ``base + separator`` (literal, case-sensitive), e.g. a
    media file's path without its extension and the paths of the file and its subtitles.

    starts_with() is exact everywhere, but it hides the column inside substr(), so no index can
    serve it (about 0.5 s per call at 100k rows). Where text compares by code point
    (``storage.features.binary_text``), the same rows are exactly the range [base + separator,
    base + the next character), which an index on the column serves. A database that sorts by a
    locale (PostgreSQL may) is no such range.
    """
    prefix = base + separator
    if binary_text:
        return or_(column == base, and_(column >= prefix, column < base + chr(ord(separator) + 1)))
    return or_(column == base, starts_with(column, prefix))


def count_where(condition):
    """``SUM(CASE WHEN condition THEN 1 ELSE 0 END)``: several counts in one table scan."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def inserted_id(result: CursorResult) -> int:
    """The primary key of the row a single-row INSERT wrote."""
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - an INSERT of one row always has one
        raise RuntimeError("the INSERT reported no primary key")
    return int(key[0])


# -- maintenance ----------------------------------------------------------------------------------

def run_cleanup(kernel: Kernel, domain: str, method: str) -> int:
    """A domain's ``sublarr_maintenance`` step: call ``kernel.repo(domain).<method>()``, which returns how
    many rows it removed, and log the count when there were any."""
    removed = getattr(kernel.repo(domain), method)()
    if removed:
        logging.getLogger("sublarr.maintenance").info("maintenance: %s.%s removed %s rows", domain, method, removed)
    return removed


# -- package-level functions ---------------------------------------------------------------------

def export(domain: str, repository: type[Repository], namespace: dict[str, Any]) -> list[str]:
    """Define every public repository method as a module function acting on the active kernel.

    Returns the exported names (for ``__all__``). Aliases (``b = a`` in the class body) are
    exported under both names with one implementation.
    """
    from sublarr.core.kernel import active_kernel

    names = []
    for name, member in inspect.getmembers(repository, inspect.isfunction):
        if name.startswith("_") or name in Repository.__dict__:
            continue

        def make(method_name: str, method: Callable) -> Callable:
            @functools.wraps(method)
            def function(*args, **kwargs):
                return getattr(active_kernel().repo(domain), method_name)(*args, **kwargs)

            sig = inspect.signature(method)
            function.__signature__ = sig.replace(parameters=list(sig.parameters.values())[1:])
            del function.__wrapped__
            return function

        namespace[name] = make(name, member)
        names.append(name)
    return sorted(names)
