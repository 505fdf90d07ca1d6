"""The MetaData every domain's tables share, and the declarative base built on it.

One MetaData with a naming convention, so every constraint and index has a stable name
(Alembic batch mode on SQLite needs names to alter them).

A domain declares its tables either as Core ``sqlalchemy.Table`` objects on :data:`metadata`
(what the built-in domains do: no ORM mapping at boot) or as declarative classes on :class:`Base`
(``Mapped[...]`` / ``mapped_column``), whose ``__table__`` lands on the same MetaData. ``Base`` is
created on first access (PEP 562 ``__getattr__``), so importing this module, as every process
does, does not import ``sqlalchemy.orm``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import MetaData, Table

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
_metadata = metadata  # the name a class body can reach past its own `metadata`

if TYPE_CHECKING:
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        # Every model here is declared with columns, so its __table__ is a Table, not the wider
        # FromClause DeclarativeBase declares (which has no .name/.insert()/.c typed as columns).
        # Annotation only: it tells type checkers, SQLAlchemy skips ClassVar dunders.
        __table__: ClassVar[Table]


_base_lock = threading.Lock()


def _declarative_base() -> type:
    from sqlalchemy.orm import DeclarativeBase

    class Base(DeclarativeBase):
        """The declarative base of plugin models: their tables land on :data:`metadata`."""

        metadata = _metadata
        __table__: ClassVar[Table]

    Base.__module__ = __name__
    return Base


def __getattr__(name: str) -> Any:
    if name == "Base":
        # one Base for every plugin, even when two threads import their models at once
        with _base_lock:
            base = globals().get("Base")
            if base is None:
                base = _declarative_base()
                globals()["Base"] = base  # later lookups find it without calling here again
        return base
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
