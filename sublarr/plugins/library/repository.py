from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from sublarr.core.domain import (
    MAX_INDEXED_BYTES,
    Repository,
    check_limit,
    count_where,
    require_int,
    require_str,
)
from sublarr.core.timeutil import now_iso

from .models import upgrade_history as upgrades

if TYPE_CHECKING:  # type-only: the other domain is reached through kernel.repo(), never imported
    from sublarr.plugins.providers.repository import ProvidersRepository


class LibraryRepository(Repository):
    """Download history (``subtitle_downloads``, the providers domain's: read through its repository)
    and upgrade history (legacy ``db/library.py``).

    Kept: exact-match filters applied only when truthy, newest first, the legacy key sets and
    ``srt_to_ass`` counting only exact ``'srt'`` -> ``'ass'``. Mended: ``last_24h`` / ``last_7d`` are
    exact windows (legacy compared 'T'-separated rows with SQLite's space-separated
    ``datetime('now', ...)`` and counted the whole boundary day); '' and NULL formats/languages are
    summed under ``"unknown"``.
    """

    def _providers(self) -> ProvidersRepository:
        """The providers domain's repository (a declared requirement), typed for checkers."""
        return cast("ProvidersRepository", self.repo("providers"))

    domain = "library"

    # -- downloads ------------------------------------------------------------------------------

    def get_download_history(self, page: int = 1, per_page: int = 50, provider: str | None = None,
                             language: str | None = None) -> dict[str, Any]:
        """Paginated download rows, newest first (id breaks ties so pages never overlap)."""
        return self._providers().get_subtitle_downloads(page, per_page, provider, language)

    def get_download_stats(self) -> dict[str, Any]:
        """``{total_downloads, by_provider, by_format, by_language, last_24h, last_7d}``."""
        return self._providers().get_subtitle_download_stats()

    # -- upgrades -------------------------------------------------------------------------------

    def record_upgrade(self, file_path: str, old_format: str | None, old_score: int | None,
                       new_format: str | None, new_score: int | None, provider_name: str | None = "",
                       upgrade_reason: str | None = "") -> None:
        """Append an upgrade (the nullable columns accept None, as the legacy INSERT did)."""
        row = {
            "file_path": require_str("file_path", file_path, max_bytes=MAX_INDEXED_BYTES),
            "old_format": require_str("old_format", old_format, nullable=True),
            "old_score": require_int("old_score", old_score, nullable=True),
            "new_format": require_str("new_format", new_format, nullable=True),
            "new_score": require_int("new_score", new_score, nullable=True),
            "provider_name": require_str("provider_name", provider_name, nullable=True),
            "upgrade_reason": require_str("upgrade_reason", upgrade_reason, nullable=True),
            "upgraded_at": now_iso(),
        }
        with self.write() as conn:
            conn.execute(insert(upgrades).values(**row))

    def get_upgrade_history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The ``limit`` newest upgrades (full rows)."""
        check_limit(limit)
        query = select(upgrades).order_by(upgrades.c.upgraded_at.desc(), upgrades.c.id.desc()).limit(limit)
        with self.read() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def get_upgrade_stats(self) -> dict[str, int]:
        """``{total, srt_to_ass}`` (exact, case-sensitive format match, as legacy)."""
        with self.read() as conn:
            return self._upgrade_stats(conn)

    # -- both -----------------------------------------------------------------------------------

    def get_library_stats(self) -> dict[str, dict[str, Any]]:
        """``{"downloads": get_download_stats(), "upgrades": get_upgrade_stats()}`` from one snapshot."""
        with self.read() as conn:  # the providers' read joins this transaction
            return {"downloads": self._providers().get_subtitle_download_stats(),
                    "upgrades": self._upgrade_stats(conn)}

    # -- shared by the readers above ------------------------------------------------------------

    @staticmethod
    def _upgrade_stats(conn: Connection) -> dict[str, int]:
        total, srt_to_ass = conn.execute(select(
            func.count(),
            count_where((upgrades.c.old_format == "srt") & (upgrades.c.new_format == "ass")),
        )).one()
        return {"total": total, "srt_to_ass": int(srt_to_ass)}
