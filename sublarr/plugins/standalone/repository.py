"""Standalone mode: watched folders, series, movies and the metadata cache (legacy
``db/standalone.py`` + ``StandaloneRepository``).

Legacy quirks kept on purpose:
- Where a legacy name and a repository name are the same but returned different shapes, the
  legacy shape wins, because code written against the legacy layer must run unchanged:
  ``upsert_standalone_series`` and ``upsert_standalone_movie`` return the row id (int), not the
  row dict of the old repository (read it with ``get_standalone_series(id)`` /
  ``get_standalone_movie(id)``); ``get_standalone_series(series_id=None)`` and
  ``get_standalone_movies(movie_id=None)`` return one dict (or None) for an id and the whole
  list, ordered by title, without one.
- An upsert overwrites every listed field, ``None`` included, and keeps ``created_at``.
- ``enabled`` and ``is_anime`` come back as the stored ints 0/1; ``response_json`` is an opaque
  string, never parsed.
- ``cleanup_expired_cache`` deletes expired *metadata* rows (``expires_at <= now``); the
  ``providers`` domain has its own function of that name for its own table.
- Deleting a series or movie does not touch wanted items that point at it (as legacy).

Fixes:
- ``create_watched_folder`` on an existing path returns that folder instead of failing
  (INSERT ... ON CONFLICT DO NOTHING, then SELECT: race-safe), so ``upsert_watched_folder``
  never hits the UNIQUE constraint as the later legacy wrapper did.
- The three upserts are race-safe (``INSERT ... ON CONFLICT (unique column) DO UPDATE`` after an
  UPDATE of an existing row): concurrent callers get one row and the same id, and re-upserting
  draws no id from the sequence.
- Expiry is compared against a timestamp computed in Python (portable, one format).
- Values are validated before anything is written (ValueError, never a database error).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sublarr.core.domain import Repository
from sublarr.core.errors import DuplicateError
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import (
    MAX_INDEXED_BYTES,
    Check,
    clean_fields,
    require_flag,
    require_int,
    require_str,
    time_in,
)
from sublarr.drivers.base import StorageDriver

from .models import metadata_cache as metadata
from .models import standalone_movies as movies
from .models import standalone_series as series
from .models import watched_folders as folders

if TYPE_CHECKING:  # type-only: the other domain is reached through kernel.repo(), never imported
    from sublarr.plugins.cache.repository import CacheRepository


# a watched folder's editable fields and their rules (creation goes through the same rules)
_FOLDER_FIELDS: dict[str, Check] = {
    "path": partial(require_str, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
    "label": require_str,
    "media_type": require_str,
    "enabled": require_flag,
}


def _row(conn: Connection, table: Table, column: str, value: Any) -> dict | None:
    found = conn.execute(select(table).where(table.c[column] == value)).mappings().first()
    return dict(found) if found is not None else None


def _media_values(title: str, year: int | None, tmdb_id: int | None, imdb_id: str, poster_url: str,
                  metadata_source: str) -> dict[str, Any]:
    """The checked columns a series and a movie share (one rule each for both)."""
    return {
        "title": require_str("title", title),
        "year": require_int("year", year, nullable=True),
        "tmdb_id": require_int("tmdb_id", tmdb_id, nullable=True),
        "imdb_id": require_str("imdb_id", imdb_id),
        "poster_url": require_str("poster_url", poster_url),
        "metadata_source": require_str("metadata_source", metadata_source),
    }


def _upsert_id(storage: StorageDriver, conn: Connection, table: Table, values: Mapping[str, Any], key: str) -> int:
    """Overwrite every given column of the row with this ``key`` value, or insert it; returns the id.

    The UPDATE comes first so that re-upserting an existing row (every library scan does) draws
    no value from the id sequence: PostgreSQL evaluates ``nextval()`` before ON CONFLICT, so a
    plain upsert burns one id per call and a 4-byte SERIAL would run out after 2**31 calls.
    The upsert keeps it race-safe when another writer inserts the same key in between; the id is
    then read by the key (not every engine can return rows from an UPDATE).
    """
    now = now_iso()
    changes = {column: value for column, value in values.items() if column != key}
    by_key = table.c[key] == values[key]
    if not conn.execute(update(table).where(by_key).values(**changes, updated_at=now)).rowcount:
        conn.execute(storage.upsert(table, {**values, "created_at": now, "updated_at": now}, key=[key],
                                    update=[*changes, "updated_at"]))
    return conn.execute(select(table.c.id).where(by_key)).scalar_one()


class StandaloneRepository(Repository):

    def _cache(self) -> CacheRepository:
        """The cache domain's repository (a declared requirement), typed for checkers."""
        return cast("CacheRepository", self.repo("cache"))
    domain = "standalone"

    # -- helpers shared by the tables with an id ---------------------------------------------

    def _get(self, table: Table, column: str, value: Any) -> dict | None:
        with self.read() as conn:
            return _row(conn, table, column, value)

    def _all_by_title(self, table: Table) -> list[dict]:
        with self.read() as conn:
            rows = conn.execute(select(table).order_by(self.storage.text_order(table.c.title), table.c.id)).mappings()
            return [dict(r) for r in rows]

    def _delete(self, table: Table, name: str, row_id: int) -> bool:
        require_int(name, row_id)
        with self.write() as conn:
            return conn.execute(delete(table).where(table.c.id == row_id)).rowcount > 0

    # -- watched folders ---------------------------------------------------------------------------

    def upsert_watched_folder(self, path: str, label: str = "", media_type: str = "auto",
                              enabled: bool = True) -> int:
        """Insert, or update ``label``, ``media_type``, ``enabled`` of the folder with this path;
        returns its id (race-safe)."""
        values = clean_fields("watched folder", _FOLDER_FIELDS,
                              {"path": path, "label": label, "media_type": media_type, "enabled": enabled})
        with self.write() as conn:
            return _upsert_id(self.storage, conn, folders, values, key="path")

    def create_watched_folder(self, path: str, label: str = "", media_type: str = "auto") -> dict:
        """Add an enabled folder and return it; an existing path returns the existing folder
        unchanged (fixed: the old repository raised on the UNIQUE constraint)."""
        values = clean_fields("watched folder", _FOLDER_FIELDS, {"path": path, "label": label,
                                                                 "media_type": media_type})
        now = now_iso()
        with self.write() as conn:
            existing = _row(conn, folders, "path", path)  # first, so an existing path draws no id
            if existing is not None:
                return existing
            conn.execute(self.storage.insert_ignore(folders, ["path"]).values(
                **values, enabled=1, last_scan_at="", created_at=now, updated_at=now))
            added = _row(conn, folders, "path", path)
            if added is None:  # pragma: no cover - inserted (or found) above, in this transaction
                raise RuntimeError(f"watched folder {path!r} vanished while it was being added")
            return added

    def get_watched_folders(self, enabled_only: bool = True) -> list[dict]:
        """Folders ordered by path; by default only enabled ones (``enabled = 1``, as legacy)."""
        query = select(folders).order_by(self.storage.text_order(folders.c.path))
        if require_flag("enabled_only", enabled_only):
            query = query.where(folders.c.enabled == 1)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def get_watched_folder(self, folder_id: int) -> dict | None:
        require_int("folder_id", folder_id)
        return self._get(folders, "id", folder_id)

    def update_watched_folder(self, folder_id: int, **fields: Any) -> bool:
        """Change ``path``, ``label``, ``media_type`` or ``enabled`` (and ``updated_at``); False when
        the folder does not exist, ValueError for other fields, :class:`DuplicateError` (also an
        ``sqlite3.IntegrityError``) for a path another folder has.
        No fields: nothing is written."""
        require_int("folder_id", folder_id)
        values = clean_fields("watched folder", _FOLDER_FIELDS, fields)
        try:
            with self.write() as conn:
                if not values:
                    return _row(conn, folders, "id", folder_id) is not None
                stmt = update(folders).where(folders.c.id == folder_id).values(**values, updated_at=now_iso())
                return conn.execute(stmt).rowcount > 0
        except IntegrityError:  # the only constraint an update can break is UNIQUE(path)
            raise DuplicateError(folders.name, "path",
                                 f"another watched folder has the path {values['path']!r}") from None

    def update_last_scan(self, folder_id: int) -> bool:
        """Stamp ``last_scan_at`` (and ``updated_at``) with now; False when the folder does not exist."""
        require_int("folder_id", folder_id)
        now = now_iso()
        with self.write() as conn:
            stmt = update(folders).where(folders.c.id == folder_id).values(last_scan_at=now, updated_at=now)
            return conn.execute(stmt).rowcount > 0

    def delete_watched_folder(self, folder_id: int) -> bool:
        return self._delete(folders, "folder_id", folder_id)

    # -- series ------------------------------------------------------------------------------------

    def upsert_standalone_series(self, title: str, folder_path: str, year: int | None = None,
                                 tmdb_id: int | None = None, tvdb_id: int | None = None,
                                 anilist_id: int | None = None, imdb_id: str = "", poster_url: str = "",
                                 is_anime: bool = False, episode_count: int = 0, season_count: int = 0,
                                 metadata_source: str = "") -> int:
        """Insert or overwrite the series of ``folder_path``; returns its id (legacy shape)."""
        values = {
            **_media_values(title, year, tmdb_id, imdb_id, poster_url, metadata_source),
            "folder_path": require_str("folder_path", folder_path, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
            "tvdb_id": require_int("tvdb_id", tvdb_id, nullable=True),
            "anilist_id": require_int("anilist_id", anilist_id, nullable=True),
            "is_anime": require_flag("is_anime", is_anime),
            "episode_count": require_int("episode_count", episode_count, minimum=0),
            "season_count": require_int("season_count", season_count, minimum=0),
        }
        with self.write() as conn:
            return _upsert_id(self.storage, conn, series, values, key="folder_path")

    def get_standalone_series(self, series_id: int | None = None) -> dict | list[dict] | None:
        """With an id: that series or None. Without: every series (legacy overload)."""
        if series_id is None:
            return self.get_all_standalone_series()
        require_int("series_id", series_id)
        return self._get(series, "id", series_id)

    def get_all_standalone_series(self) -> list[dict]:
        """Every series ordered by title (then id)."""
        return self._all_by_title(series)

    def get_standalone_series_by_folder(self, folder_path: str) -> dict | None:
        require_str("folder_path", folder_path)
        return self._get(series, "folder_path", folder_path)

    def delete_standalone_series(self, series_id: int) -> bool:
        return self._delete(series, "series_id", series_id)

    # -- movies ------------------------------------------------------------------------------------

    def upsert_standalone_movie(self, title: str, file_path: str, year: int | None = None,
                                tmdb_id: int | None = None, imdb_id: str = "", poster_url: str = "",
                                metadata_source: str = "") -> int:
        """Insert or overwrite the movie of ``file_path``; returns its id (legacy shape)."""
        values = {
            **_media_values(title, year, tmdb_id, imdb_id, poster_url, metadata_source),
            "file_path": require_str("file_path", file_path, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
        }
        with self.write() as conn:
            return _upsert_id(self.storage, conn, movies, values, key="file_path")

    def get_standalone_movies(self, movie_id: int | None = None) -> dict | list[dict] | None:
        """With an id: that movie or None. Without: every movie (legacy overload)."""
        if movie_id is None:
            return self.get_all_standalone_movies()
        return self.get_standalone_movie(movie_id)

    def get_standalone_movie(self, movie_id: int) -> dict | None:
        require_int("movie_id", movie_id)
        return self._get(movies, "id", movie_id)

    def get_all_standalone_movies(self) -> list[dict]:
        """Every movie ordered by title (then id)."""
        return self._all_by_title(movies)

    def get_standalone_movie_by_path(self, file_path: str) -> dict | None:
        require_str("file_path", file_path)
        return self._get(movies, "file_path", file_path)

    def delete_standalone_movie(self, movie_id: int) -> bool:
        return self._delete(movies, "movie_id", movie_id)

    # -- metadata cache ----------------------------------------------------------------------------

    def cache_metadata(self, cache_key: str, provider: str, response_json: str, ttl_days: int | None = None) -> None:
        """Insert or replace an entry expiring in ``ttl_days`` (default: the
        ``metadata_cache_ttl_days`` setting, 30). Repository name ``save_metadata_cache``."""
        require_str("cache_key", cache_key, allow_empty=False, max_bytes=MAX_INDEXED_BYTES)
        require_str("provider", provider)
        require_str("response_json", response_json)
        if ttl_days is None:
            ttl_days = self.settings.metadata_cache_ttl_days
        expires_at = time_in("ttl_days", require_int("ttl_days", ttl_days, minimum=0))
        values = {"cache_key": cache_key, "provider": provider, "response_json": response_json,
                  "cached_at": now_iso(), "expires_at": expires_at}
        with self.write() as conn:
            conn.execute(self.storage.upsert(metadata, values, key=["cache_key"]))

    save_metadata_cache = cache_metadata

    def get_cached_metadata(self, cache_key: str) -> dict | None:
        """The entry if it has not expired (``expires_at > now``), else None; ``response_json``
        stays a string. Repository name ``get_metadata_cache``."""
        require_str("cache_key", cache_key)
        with self.read() as conn:
            row = conn.execute(select(metadata).where(
                metadata.c.cache_key == cache_key, metadata.c.expires_at > now_iso())).mappings().first()
        return dict(row) if row is not None else None

    get_metadata_cache = get_cached_metadata

    def cleanup_expired_cache(self) -> int:
        """Delete metadata entries with ``expires_at <= now``; returns how many (repository name
        ``clear_expired_metadata_cache``)."""
        with self.write() as conn:
            return conn.execute(delete(metadata).where(metadata.c.expires_at <= now_iso())).rowcount

    clear_expired_metadata_cache = cleanup_expired_cache

    # -- AniDB mappings: owned by the cache domain -------------------------------------------------

    def get_anidb_mapping(self, tvdb_id: int) -> int | None:
        """The cache domain's ``get_anidb_mapping`` (anidb id or None, sliding TTL)."""
        return self._cache().get_anidb_mapping(tvdb_id)

    def save_anidb_mapping(self, tvdb_id: int, anidb_id: int, series_title: str | None = "") -> None:
        """The cache domain's ``save_anidb_mapping``."""
        self._cache().save_anidb_mapping(tvdb_id, anidb_id, series_title)

    def clear_old_anidb_mappings(self, days: int = 90) -> int:
        """The cache domain's ``cleanup_old_anidb_mappings``: mappings unused for ``days`` days."""
        return self._cache().cleanup_old_anidb_mappings(days)
