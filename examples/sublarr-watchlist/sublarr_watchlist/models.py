from sqlalchemy import Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base


class WatchEntry(Base):
    __tablename__ = "watchlist_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    path_prefix: Mapped[str] = mapped_column(Text, nullable=False, unique=True)
    label: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
    added_at: Mapped[str] = mapped_column(Text, nullable=False)
    # added by revision watchlist_0002
    downloads: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_download_at: Mapped[str] = mapped_column(Text, nullable=False, server_default="")
