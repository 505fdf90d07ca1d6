"""A throwaway domain with a parent/child pair of tables, to exercise the migration machinery:
a batch ("move and copy") migration on SQLite must not cascade deletes into child rows."""

from pathlib import Path

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr import hookimpl
from sublarr.core.domain import Domain, Repository
from sublarr.core.models import Base


class SampleParent(Base):
    __tablename__ = "sample_parent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, server_default="")


class SampleChild(Base):
    __tablename__ = "sample_child"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("sample_parent.id", ondelete="CASCADE"), nullable=False)


class SampleRepository(Repository):
    domain = "sample"


class SamplePlugin:
    @hookimpl
    def sublarr_domains(self):
        return [Domain(name="sample", repository=SampleRepository,
                       tables=[SampleParent.__table__, SampleChild.__table__],
                       migrations=Path(__file__).parent / "migrations")]
