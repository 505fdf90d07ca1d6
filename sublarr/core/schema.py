"""Column types and defaults shared by the models and migrations of every domain.

The legacy schema was SQLite DDL. These types say what a column *means*; each storage driver
says how its engine spells it (``sublarr/drivers/*.py`` register the spellings with
SQLAlchemy's ``@compiles``): SQLite keeps the legacy DDL exactly (``REAL``, ``INTEGER PRIMARY
KEY``, ``DEFAULT (datetime('now'))``), the server engines get the closest equivalent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class Real(sa.Double):
    """An 8-byte float (mtimes, averages): the legacy ``REAL``. PostgreSQL's own ``REAL`` is 4 bytes,
    so engines spell it as their double type unless they declare otherwise."""


class BigId(sa.BigInteger):
    """A surrogate key that upserts consume quickly: 64-bit everywhere (SQLite's ``INTEGER PRIMARY
    KEY`` is 64-bit, and AUTOINCREMENT needs exactly that type name there)."""


class ShortText(sa.Text):
    """Text of at most ``max_chars`` characters: a word from a closed vocabulary (a status, a kind),
    a moment (:class:`Timestamp`). Text on every engine; an engine that indexes only a prefix of
    unbounded text (MariaDB) spells it as a bounded string, so that an index over it holds the whole
    value: ``ORDER BY`` can then read rows in index order, and ``count(*)`` and ``GROUP BY`` over the
    column are read from the index alone (with a prefix, every row is read to compare the whole value,
    and grouping unbounded text goes through an on-disk temporary table). SQLite and PostgreSQL spell
    it ``TEXT``, as before. Use it where every value the kernel writes is short by rule; a longer stored
    value stops the migration that introduces the type, with the engine's error."""

    max_chars = 64


class Timestamp(ShortText):
    """A moment as the kernel writes it (``2026-11-25T01:02:03.000004``, 26 characters; legacy rows
    also hold ``YYYY-MM-DD HH:MM:SS``): a :class:`ShortText`, so that an index over it orders pages on
    every engine. With a prefix, every page of a list ordered by the column sorts all its rows."""


class DeclaredText(sa.types.TypeDecorator):
    """Text everywhere, in a column that the legacy DDL declared with another type name (say
    ``TIMESTAMP``): an engine that keeps declared names (SQLite) shows that name, values stay the
    strings they are (no datetime parsing)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, declared: str):
        super().__init__()
        self.declared = declared


class legacy_now(FunctionElement):
    """``DEFAULT (datetime('now'))`` of the legacy DDL: UTC ``YYYY-MM-DD HH:MM:SS`` as text.

    Each storage driver compiles it for its dialect."""

    type = sa.Text()
    inherit_cache = True


class legacy_current_timestamp(legacy_now):
    """``DEFAULT CURRENT_TIMESTAMP`` of the legacy DDL: the same text as :class:`legacy_now`."""

    inherit_cache = True


@compiles(legacy_now)
def _legacy_now_unknown(element, compiler, **kw):
    raise CompileError(f"the storage driver of dialect {compiler.dialect.name!r} does not compile "
                       "sublarr.core.schema.legacy_now (every storage driver must)")


def now_default() -> sa.sql.elements.TextClause:
    """A server_default equal to the legacy ``datetime('now')`` on the bound dialect (use in migrations)."""
    from alembic import op

    dialect = op.get_bind().dialect
    return sa.text(str(legacy_now().compile(dialect=dialect)))


def text_default(value: str) -> sa.sql.elements.TextClause:
    """server_default for a TEXT literal, quoted like the legacy DDL (``DEFAULT ''``, ``DEFAULT 'full'``)."""
    return sa.text("'" + value.replace("'", "''") + "'")


def int_default(value: int) -> sa.sql.elements.TextClause:
    return sa.text(str(int(value)))


def retype_column(table: str, column: str, old: sa.types.TypeEngine, new: sa.types.TypeEngine, *,
                  nullable: bool, indexes: Mapping[str, Sequence[str]],
                  server_default: sa.sql.elements.TextClause | None = None) -> None:
    """In a migration: ``column`` of ``table`` from type ``old`` to ``new`` where the bound engine
    spells the two differently, and nothing where it spells them alike (so a revision that gives a
    column a more exact type changes only the engines it concerns, without naming them).

    ``indexes`` (name -> columns) are the indexes over the column: they are dropped first and made
    again after, since an engine may key a column differently by type (a prefix of unbounded text
    on MariaDB). Only the indexes still there are dropped, so a run that stopped half-way on an
    engine without transactional DDL can run again. ``server_default`` is the column's default
    (``text_default(...)``), kept by engines that restate the whole column to change its type.
    """
    from alembic import op

    bind = op.get_bind()
    if str(old.compile(dialect=bind.dialect)) == str(new.compile(dialect=bind.dialect)):
        return
    present = {index["name"] for index in sa.inspect(bind).get_indexes(table)}
    for name in indexes:
        if name in present:
            op.drop_index(name, table_name=table)
    op.alter_column(table, column, type_=new, existing_type=old, existing_nullable=nullable,
                    existing_server_default=server_default)
    for name, columns in indexes.items():
        op.create_index(name, table, list(columns))
