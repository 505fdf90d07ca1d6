from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, case, delete, exists, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from sublarr.core.domain import Repository, inserted_id
from sublarr.core.errors import DuplicateError
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import (
    MAX_INDEXED_BYTES,
    Check,
    clean_fields,
    require_choice,
    require_int,
    require_str,
    require_str_list,
)

from .models import language_profiles as profiles
from .models import movie_language_profiles as movie_profiles
from .models import series_language_profiles as series_profiles

if TYPE_CHECKING:  # type-only: the other domain is reached through kernel.repo(), never imported
    from sublarr.plugins.wanted.repository import WantedRepository

VALID_FORCED_PREFERENCES = ("disabled", "separate", "auto")


# update_profile(**fields): field name -> column. The list fields are stored as JSON text.
_EDITABLE = {
    "name": "name",
    "source_language": "source_language",
    "source_language_name": "source_language_name",
    "target_languages": "target_languages_json",
    "target_language_names": "target_language_names_json",
    "translation_backend": "translation_backend",
    "fallback_chain": "fallback_chain_json",
    "forced_preference": "forced_preference",
}
_LIST_FIELDS = ("target_languages", "target_language_names", "fallback_chain")
# ... and the rules of each field, for creation and updates alike
_FIELDS: dict[str, Check] = {
    "name": partial(require_str, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
    "source_language": require_str,
    "source_language_name": require_str,
    "target_languages": require_str_list,
    "target_language_names": require_str_list,
    "translation_backend": require_str,
    "fallback_chain": require_str_list,
    "forced_preference": partial(require_choice, choices=VALID_FORCED_PREFERENCES),
}


def _json_list(text: str | None, fallback: list) -> list:
    if text is None:
        return list(fallback)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return list(fallback)


def _to_profile(row: Mapping[Any, Any]) -> dict:
    """The legacy ``_row_to_profile``: columns in table order, ``is_default`` as bool, the JSON
    columns replaced by parsed lists appended at the end (legacy key order); a NULL
    ``translation_backend``/``forced_preference`` (old rows) reads as its default."""
    d = dict(row)
    d["is_default"] = bool(d["is_default"])
    if d["translation_backend"] is None:
        d["translation_backend"] = "ollama"
    if d["forced_preference"] is None:
        d["forced_preference"] = "disabled"
    d["target_languages"] = _json_list(d.pop("target_languages_json"), [])
    d["target_language_names"] = _json_list(d.pop("target_language_names_json"), [])
    d["fallback_chain"] = _json_list(d.pop("fallback_chain_json"), ["ollama"])
    return d


def _columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked field values as the columns that store them (lists as JSON text)."""
    return {_EDITABLE[field]: json.dumps(value) if field in _LIST_FIELDS else value for field, value in fields.items()}


class ProfilesRepository(Repository):
    """Language profiles (legacy ``db/profiles.py``) and the repository-layer names.

    Kept from the legacy layer: key order and parsing of profile dicts, the default-profile
    fallback chain ending in a synthetic ``id 0`` dict from the settings, ``INSERT OR REPLACE``
    semantics of assignments, the default profile cannot be deleted.
    Fixed: deleting a profile removes its assignments through the enforced foreign key;
    assigning an unknown profile id, an invalid ``forced_preference`` and unknown update fields
    raise ``ValueError`` (nothing is written); a duplicate name raises :class:`DuplicateError`, both
    a ``ValueError`` and the legacy ``sqlite3.IntegrityError`` (nothing is written).
    """

    def _wanted(self) -> WantedRepository:
        """The wanted domain's repository (a declared requirement), typed for checkers."""
        return cast("WantedRepository", self.repo("wanted"))

    domain = "profiles"

    # -- profiles --------------------------------------------------------------------------------

    def create_language_profile(self, name: str, source_lang: str, source_name: str,
                                target_langs: list[str], target_names: list[str],
                                translation_backend: str = "ollama", fallback_chain: list[str] | None = None,
                                forced_preference: str = "disabled") -> int:
        """Insert a non-default profile; returns its id. ``fallback_chain`` defaults to
        ``[translation_backend]``. A duplicate name raises :class:`DuplicateError` (a ValueError and,
        as legacy, an ``sqlite3.IntegrityError``)."""
        given = {  # field: (the parameter that carries it, its value); errors name the parameter
            "name": ("name", name), "source_language": ("source_lang", source_lang),
            "source_language_name": ("source_name", source_name), "target_languages": ("target_langs", target_langs),
            "target_language_names": ("target_names", target_names),
            "translation_backend": ("translation_backend", translation_backend),
            "fallback_chain": ("fallback_chain", [translation_backend] if fallback_chain is None else fallback_chain),
            "forced_preference": ("forced_preference", forced_preference),
        }
        values = {**_columns({field: _FIELDS[field](param, value) for field, (param, value) in given.items()}),
                  "is_default": 0}
        now = now_iso()
        try:
            with self.write() as conn:
                result = conn.execute(profiles.insert().values(**values, created_at=now, updated_at=now))
                return inserted_id(result)
        except IntegrityError:
            raise DuplicateError(profiles.name, "name", f"a language profile named {name!r} exists already") from None

    create_profile = create_language_profile

    def get_language_profile(self, profile_id: int) -> dict | None:
        require_int("profile_id", profile_id)
        with self.read() as conn:
            row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).mappings().first()
        return _to_profile(row) if row else None

    get_profile = get_language_profile

    def get_all_language_profiles(self) -> list[dict]:
        """Default profile first, then by name (code-point order on every dialect, as SQLite's
        BINARY collation sorted: a PostgreSQL database with a linguistic collation lists the
        same order)."""
        with self.read() as conn:
            rows = conn.execute(select(profiles)).mappings().all()
        found = [_to_profile(r) for r in rows]
        return sorted(found, key=lambda p: (not p["is_default"], p["name"]))

    get_profiles = get_all_language_profiles

    def update_profile(self, profile_id: int, **fields: Any) -> bool:
        """Set the given fields (and ``updated_at``); True if the profile exists.

        Allowed: name, source_language, source_language_name, target_languages,
        target_language_names, translation_backend, fallback_chain, forced_preference. Unknown
        names raise ValueError (the legacy function ignored them silently); no fields change
        nothing. ``update_language_profile`` is the same function (legacy returned None).
        """
        require_int("profile_id", profile_id)
        values = _columns(clean_fields("language profile", _FIELDS, fields))
        if not values:
            with self.read() as conn:
                return bool(conn.execute(select(exists().where(profiles.c.id == profile_id))).scalar())
        try:
            with self.write() as conn:
                result = conn.execute(update(profiles).where(profiles.c.id == profile_id)
                                      .values(**values, updated_at=now_iso()))
        except IntegrityError:
            raise DuplicateError(profiles.name, "name",
                                 f"a language profile named {fields.get('name')!r} exists already") from None
        return result.rowcount > 0

    update_language_profile = update_profile

    def delete_profile(self, profile_id: int) -> bool:
        """Delete a non-default profile; False when missing or the default. Its series and movie
        assignments go with it (ON DELETE CASCADE, enforced on both dialects)."""
        require_int("profile_id", profile_id)
        with self.write() as conn:
            result = conn.execute(delete(profiles).where(profiles.c.id == profile_id, profiles.c.is_default == 0))
        return result.rowcount > 0

    delete_language_profile = delete_profile

    def get_default_profile(self) -> dict:
        """The ``is_default`` profile, else the lowest id, else a synthetic dict from the settings."""
        with self.read() as conn:
            return self._default_profile(conn)

    def _default_profile(self, conn: Connection) -> dict:
        row = conn.execute(
            select(profiles).order_by(case((profiles.c.is_default == 1, 0), else_=1), profiles.c.id).limit(1)
        ).mappings().first()
        if row:
            return _to_profile(row)
        s = self.settings
        # The legacy synthetic dict (id 0, no timestamps), plus forced_preference so code that
        # reads it from a real profile works on this one too.
        return {
            "id": 0,
            "name": "Default",
            "source_language": s.source_language,
            "source_language_name": s.source_language_name,
            "target_languages": [s.target_language],
            "target_language_names": [s.target_language_name],
            "is_default": True,
            "translation_backend": "ollama",
            "fallback_chain": ["ollama"],
            "forced_preference": "disabled",
        }

    # -- assignments -----------------------------------------------------------------------------

    def _assigned_profile(self, table: Table, key: str, item_id: int) -> dict:
        require_int(key, item_id)
        with self.read() as conn:
            row = conn.execute(
                select(profiles).join(table, table.c.profile_id == profiles.c.id).where(table.c[key] == item_id)
            ).mappings().first()
            return _to_profile(row) if row else self._default_profile(conn)

    def get_series_profile(self, sonarr_series_id: int) -> dict:
        """The profile assigned to the series, else :meth:`get_default_profile`."""
        return self._assigned_profile(series_profiles, "sonarr_series_id", sonarr_series_id)

    def get_movie_profile(self, radarr_movie_id: int) -> dict:
        """The profile assigned to the movie, else :meth:`get_default_profile`."""
        return self._assigned_profile(movie_profiles, "radarr_movie_id", radarr_movie_id)

    def _assign(self, table: Table, key: str, item_id: int, profile_id: int) -> None:
        require_int(key, item_id)
        require_int("profile_id", profile_id)
        try:
            with self.write() as conn:
                conn.execute(self.storage.upsert(table, {key: item_id, "profile_id": profile_id}, key=[key]))
        except IntegrityError:
            # the foreign key: checked by the database inside the write, so a profile deleted
            # concurrently cannot slip through
            raise ValueError(f"unknown language profile id {profile_id}") from None

    def set_series_profile(self, sonarr_series_id: int, profile_id: int) -> None:
        """Assign (or re-assign) a profile to a series; an unknown profile id raises ValueError."""
        self._assign(series_profiles, "sonarr_series_id", sonarr_series_id, profile_id)

    assign_series_profile = set_series_profile

    def set_movie_profile(self, radarr_movie_id: int, profile_id: int) -> None:
        """Assign (or re-assign) a profile to a movie; an unknown profile id raises ValueError."""
        self._assign(movie_profiles, "radarr_movie_id", radarr_movie_id, profile_id)

    assign_movie_profile = set_movie_profile

    def _unassign(self, table: Table, key: str, item_id: int) -> bool:
        require_int(key, item_id)
        with self.write() as conn:
            return conn.execute(delete(table).where(table.c[key] == item_id)).rowcount > 0

    def remove_series_profile(self, sonarr_series_id: int) -> bool:
        return self._unassign(series_profiles, "sonarr_series_id", sonarr_series_id)

    def remove_movie_profile(self, radarr_movie_id: int) -> bool:
        return self._unassign(movie_profiles, "radarr_movie_id", radarr_movie_id)

    @staticmethod
    def _assignments(conn: Connection, table: Table, key: str) -> dict[int, int]:
        return dict(conn.execute(select(table.c[key], table.c.profile_id).order_by(table.c[key])).all())

    def get_series_profile_assignments(self) -> dict[int, int]:
        """``{sonarr_series_id: profile_id}``."""
        with self.read() as conn:
            return self._assignments(conn, series_profiles, "sonarr_series_id")

    def get_movie_profile_assignments(self) -> dict[int, int]:
        """``{radarr_movie_id: profile_id}``."""
        with self.read() as conn:
            return self._assignments(conn, movie_profiles, "radarr_movie_id")

    def get_profile_assignments(self) -> dict[str, dict[int, int]]:
        """``{"series": {series_id: profile_id}, "movies": {movie_id: profile_id}}`` (one snapshot)."""
        with self.read() as conn:
            return {
                "series": self._assignments(conn, series_profiles, "sonarr_series_id"),
                "movies": self._assignments(conn, movie_profiles, "radarr_movie_id"),
            }

    def get_series_profile_map(self) -> dict[int, dict]:
        """``{sonarr_series_id: {"profile_id", "profile_name"}}`` for library enrichment."""
        with self.read() as conn:
            rows = conn.execute(
                select(series_profiles.c.sonarr_series_id, profiles.c.id, profiles.c.name)
                .join(profiles, series_profiles.c.profile_id == profiles.c.id)
                .order_by(series_profiles.c.sonarr_series_id)
            ).all()
        return {sid: {"profile_id": pid, "profile_name": name} for sid, pid, name in rows}

    def get_series_missing_counts(self) -> dict[int, int]:
        """``{sonarr_series_id: n}`` of wanted items in status ``wanted`` (the wanted domain's count)."""
        return self._wanted().get_wanted_count_by_series()
