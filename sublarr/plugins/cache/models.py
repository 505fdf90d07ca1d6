from sqlalchemy import Index, Integer, Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import UserDefinedType

from sublarr.core.models import Base
from sublarr.core.schema import Real, legacy_now


class _SqliteTimestamp(UserDefinedType):
    """The legacy ``TIMESTAMP`` column type of ``anidb_mappings``, as declared on SQLite.

    Values pass through as the strings they are (SQLAlchemy's own TIMESTAMP would parse
    them into datetimes on SQLite); elsewhere the column is plain TEXT.
    """

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "TIMESTAMP"


LegacyTimestamp = Text().with_variant(_SqliteTimestamp(), "sqlite")


class legacy_current_timestamp(FunctionElement):
    """``DEFAULT CURRENT_TIMESTAMP`` of the legacy ``anidb_mappings`` DDL (UTC ``YYYY-MM-DD HH:MM:SS``);
    the same text via :class:`~sublarr.core.schema.legacy_now` on other dialects."""

    type = Text()
    inherit_cache = True


@compiles(legacy_current_timestamp, "sqlite")
def _current_timestamp_sqlite(element, compiler, **kw):
    return "CURRENT_TIMESTAMP"


@compiles(legacy_current_timestamp)
def _current_timestamp_default(element, compiler, **kw):
    return compiler.process(legacy_now(), **kw)


class FfprobeCache(Base):
    __tablename__ = "ffprobe_cache"
    __table_args__ = (Index("idx_ffprobe_cache_mtime", "mtime"),)

    file_path: Mapped[str] = mapped_column(Text, primary_key=True)
    mtime: Mapped[float] = mapped_column(Real, nullable=False)
    probe_data_json: Mapped[str] = mapped_column(Text, nullable=False)
    cached_at: Mapped[str] = mapped_column(Text, nullable=False)


class AnidbMapping(Base):
    __tablename__ = "anidb_mappings"
    __table_args__ = (Index("idx_anidb_mappings_anidb_id", "anidb_id"),)

    # INTEGER PRIMARY KEY without AUTOINCREMENT: the TVDB id is given, never generated
    tvdb_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    anidb_id: Mapped[int] = mapped_column(Integer, nullable=False)
    series_title: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[str | None] = mapped_column(LegacyTimestamp, server_default=legacy_current_timestamp())
    last_used: Mapped[str | None] = mapped_column(LegacyTimestamp, server_default=legacy_current_timestamp())
