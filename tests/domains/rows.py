"""Raw row access shared by the domain tests: counting rows and writing behind the repositories' backs."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, text, update


def _table(table):
    """A Table, or the table of a mapped class."""
    return getattr(table, "__table__", table)


def count(kernel, table) -> int:
    """Rows in ``table`` (a Table or a model)."""
    with kernel.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(_table(table))).scalar_one()


def counts(kernel, tables: Iterable[str]) -> dict[str, int]:
    """Rows per table, by table name."""
    with kernel.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in tables}


def set_columns(kernel, table, where, **values) -> None:
    """Write values the public API would refuse or not write (legacy-shaped rows, NULLs, backdated timestamps)."""
    table = _table(table)
    with kernel.engine.begin() as conn:
        conn.execute(update(table).where(where).values(**values))
