"""The declarative base every domain's models share.

One MetaData with a naming convention, so every constraint and index has a stable name
(Alembic batch mode on SQLite needs names to alter them).
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here is declared with columns, so its __table__ is a Table, not the wider
    # FromClause DeclarativeBase declares (which has no .name/.insert()/.c typed as columns).
    # Annotation only: it tells type checkers, SQLAlchemy skips ClassVar dunders.
    __table__: ClassVar[Table]
