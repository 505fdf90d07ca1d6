"""Dialect-aware statements (the only place domain code meets dialect differences).

``INSERT ... ON CONFLICT`` exists on SQLite (>= 3.24) and PostgreSQL with the same meaning;
SQLAlchemy exposes it per dialect, so the statement is built for the connection's dialect.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

# imported on first use: a SQLite process never loads the PostgreSQL dialect (and the other way round)
_INSERT_MODULES = {"sqlite": "sqlalchemy.dialects.sqlite", "postgresql": "sqlalchemy.dialects.postgresql"}


def insert_for(conn: Connection, table: Table):
    try:
        module = _INSERT_MODULES[conn.dialect.name]
    except KeyError:
        raise NotImplementedError(f"no upsert support for dialect {conn.dialect.name!r}") from None
    return importlib.import_module(module).insert(table)


def upsert(conn: Connection, table: Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
           key: Sequence[str], update: Sequence[str] | Mapping[str, Any] | None = None,
           index_where=None):
    """``INSERT ... ON CONFLICT (key) DO UPDATE``.

    ``update``: column names to take from the new row (default: every inserted non-key column),
    or a mapping column -> expression (use :func:`excluded` for the new row's values).
    ``values=None`` builds the statement for ``conn.execute(stmt, rows)`` (executemany).
    """
    stmt = insert_for(conn, table)
    if values is not None and isinstance(values, Mapping):
        stmt = stmt.values(**values)
    if isinstance(update, Mapping):
        set_ = dict(update)
    else:
        if update is None:
            if values is None or not isinstance(values, Mapping):
                raise ValueError("upsert without a single row needs the update columns")
            update = [c for c in values if c not in key]
        set_ = {c: stmt.excluded[c] for c in update}
    if not set_:
        return stmt.on_conflict_do_nothing(index_elements=list(key), index_where=index_where)
    return stmt.on_conflict_do_update(index_elements=list(key), set_=set_, index_where=index_where)


def insert_ignore(conn: Connection, table: Table, key: Sequence[str]):
    """``INSERT ... ON CONFLICT (key) DO NOTHING``."""
    return insert_for(conn, table).on_conflict_do_nothing(index_elements=list(key))
