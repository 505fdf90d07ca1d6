"""Column helpers for migrations and models that must mean the same on SQLite and PostgreSQL.

The legacy schema was SQLite DDL; these helpers reproduce it exactly on SQLite and give
PostgreSQL the closest equivalent (double precision for REAL, a text timestamp default in
the legacy SQL format for ``DEFAULT (datetime('now'))``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# SQLite REAL (8-byte); PostgreSQL double precision (REAL there is 4-byte and would lose mtimes).
Real = sa.Double().with_variant(sa.REAL(), "sqlite")


# Surrogate keys that upserts consume quickly: BIGINT on PostgreSQL, SQLite's (64-bit) INTEGER
# PRIMARY KEY on SQLite, where AUTOINCREMENT requires exactly that type name.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class legacy_now(FunctionElement):
    """``DEFAULT (datetime('now'))`` of the legacy DDL: UTC ``YYYY-MM-DD HH:MM:SS`` as text."""

    type = sa.Text()
    inherit_cache = True


@compiles(legacy_now, "sqlite")
def _legacy_now_sqlite(element, compiler, **kw):
    return "(datetime('now'))"


@compiles(legacy_now)
def _legacy_now_default(element, compiler, **kw):
    return "to_char(timezone('UTC', now()), 'YYYY-MM-DD HH24:MI:SS')"


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
