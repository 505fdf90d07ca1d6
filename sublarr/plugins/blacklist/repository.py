from __future__ import annotations

from sqlalchemy import delete, func, select

from sublarr.core.domain import (
    MAX_COMPOSITE_KEY_BYTES,
    MAX_INDEXED_BYTES,
    Repository,
    paginate,
    require_int,
    require_str,
)
from sublarr.core.timeutil import now_iso

from .models import blacklist_entries as entries

_KEY = ["provider_name", "subtitle_id"]


class BlacklistRepository(Repository):
    """Rejected subtitles, keyed by (provider_name, subtitle_id).

    Kept from the legacy layer: exact, case-sensitive matching; an existing entry is never
    changed by a second add; rows carry every column in table order.
    """

    domain = "blacklist"

    def add_blacklist_entry(self, provider_name: str, subtitle_id: str, language: str = "",
                            file_path: str = "", title: str = "", reason: str = "") -> int:
        """Blacklist a subtitle and return its entry id.

        Fix: a duplicate (provider_name, subtitle_id) returns the existing entry's id (legacy
        returned a stale ``lastrowid`` from any table, or 0). INSERT ... ON CONFLICT DO NOTHING
        and the SELECT run in one write transaction, so racing writers all get the same id and
        never an IntegrityError. The existing row keeps its fields and ``added_at``.
        """
        row = {
            "provider_name": require_str("provider_name", provider_name, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
            "subtitle_id": require_str("subtitle_id", subtitle_id, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
            "language": require_str("language", language),
            "file_path": require_str("file_path", file_path),
            "title": require_str("title", title),
            "reason": require_str("reason", reason),
            "added_at": now_iso(),
        }
        require_str("provider_name + subtitle_id", provider_name + subtitle_id, max_bytes=MAX_COMPOSITE_KEY_BYTES)
        with self.write() as conn:
            conn.execute(self.storage.insert_ignore(entries, key=_KEY).values(**row))
            return conn.execute(select(entries.c.id).where(_matches(provider_name, subtitle_id))).scalar_one()

    def remove_blacklist_entry(self, entry_id: int) -> bool:
        """Delete one entry; False when no entry has that id."""
        require_int("entry_id", entry_id)
        with self.write() as conn:
            return conn.execute(delete(entries).where(entries.c.id == entry_id)).rowcount > 0

    def clear_blacklist(self) -> int:
        """Delete every entry; returns how many were deleted."""
        with self.write() as conn:
            return conn.execute(delete(entries)).rowcount

    def is_blacklisted(self, provider_name: str, subtitle_id: str) -> bool:
        """Exact, case-sensitive lookup (as legacy)."""
        require_str("provider_name", provider_name)
        require_str("subtitle_id", subtitle_id)
        with self.read() as conn:
            found = conn.execute(select(entries.c.id).where(_matches(provider_name, subtitle_id))).first()
        return found is not None

    def get_blacklist_entries(self, page: int = 1, per_page: int = 50) -> dict:
        """Paginated entries, newest first.

        Legacy ordered by ``added_at DESC`` only; ``id DESC`` breaks ties so pages are stable.
        ``page < 1`` / ``per_page < 1`` raise ValueError (legacy: negative OFFSET / ZeroDivisionError).
        """
        query = select(entries)
        with self.read() as conn:
            return paginate(conn, query, page, per_page, [entries.c.added_at.desc(), entries.c.id.desc()])

    def get_blacklist_count(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(entries)).scalar_one()


def _matches(provider_name: str, subtitle_id: str):
    return (entries.c.provider_name == provider_name) & (entries.c.subtitle_id == subtitle_id)
