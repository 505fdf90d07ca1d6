from __future__ import annotations

from sqlalchemy import delete, func, select, update

from sublarr.core.domain import Repository, require_str, starts_with
from sublarr.core.timeutil import now_iso

from .models import WatchEntry

entries = WatchEntry.__table__


class WatchlistRepository(Repository):
    domain = "watchlist"

    def add_watch(self, path_prefix: str, label: str = "") -> int:
        """Watch a folder; watching it again returns the existing id."""
        require_str("path_prefix", path_prefix, allow_empty=False)
        require_str("label", label)
        limit = self.settings.watchlist_max_entries
        with self.write() as conn:
            existing = conn.execute(select(entries.c.id).where(entries.c.path_prefix == path_prefix)).scalar()
            if existing is not None:
                return existing
            count = conn.execute(select(func.count()).select_from(entries)).scalar_one()
            if count >= limit:
                raise ValueError(f"the watchlist is full ({limit} entries; setting watchlist_max_entries)")
            conn.execute(self.storage.insert_ignore(entries, ["path_prefix"]).values(
                path_prefix=path_prefix, label=label, added_at=now_iso()))
            return conn.execute(select(entries.c.id).where(entries.c.path_prefix == path_prefix)).scalar_one()

    def get_watchlist(self) -> list[dict]:
        with self.read() as conn:
            return [dict(r) for r in conn.execute(select(entries).order_by(entries.c.path_prefix)).mappings()]

    def remove_watch(self, entry_id: int) -> bool:
        with self.write() as conn:
            return conn.execute(delete(entries).where(entries.c.id == entry_id)).rowcount > 0

    def count_download(self, file_path: str) -> int:
        """Count a downloaded subtitle for every entry whose folder contains ``file_path``."""
        with self.write() as conn:
            prefixes = conn.execute(select(entries.c.id, entries.c.path_prefix)).all()
            ids = [i for i, prefix in prefixes if file_path.startswith(prefix)]
            if not ids:
                return 0
            return conn.execute(update(entries).where(entries.c.id.in_(ids)).values(
                downloads=entries.c.downloads + 1, last_download_at=now_iso())).rowcount

    def entries_under(self, folder: str) -> list[dict]:
        with self.read() as conn:
            query = select(entries).where(starts_with(entries.c.path_prefix, folder))
            return [dict(r) for r in conn.execute(query).mappings()]
