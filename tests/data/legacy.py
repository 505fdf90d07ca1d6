"""Builder of legacy Sublarr SQLite databases, from the facts of ``legacy-reference-a.md`` §1–2.

The legacy layer had no schema version: each release ran its ``SCHEMA`` script (``CREATE TABLE IF NOT
EXISTS`` only) and then ``_run_migrations`` (§2.4: 16 idempotent steps that append columns with
``ALTER TABLE ... ADD COLUMN`` and seed the "Default" language profile). A database therefore looks
like whatever the last release that opened it knew. This module rebuilds such files with plain
``sqlite3``, the way the legacy code wrote them:

* ``stage`` (0–16) is the last migration step the legacy code knew: later tables are missing and
  later ``ALTER TABLE`` columns are absent; present ones are the *last* physical columns, in step order.
* ``created_stage`` is the release that created the file. ``provider_stats`` shows the difference: a
  file created before step 7 got its four response-time columns appended after ``updated_at``, a file
  created later has them inline.

:func:`fill` then writes rows into every table through plain ``sqlite3``, optionally with the mixed
timestamp formats of the legacy layer, duplicate wanted items (same identity) and orphaned profile
assignments (the FK cascade was never enforced), and returns what adoption must make of them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

FINAL_STAGE = 16
DT_NOW = "DEFAULT (datetime('now'))"

# The final SCHEMA (commit bf81a59^) without the [M] columns, table by table, in legacy order.
SCHEMA: dict[str, str] = {
    "jobs": """
        id TEXT PRIMARY KEY,
        file_path TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued',
        source_format TEXT DEFAULT '',
        output_path TEXT DEFAULT '',
        stats_json TEXT DEFAULT '{}',
        error TEXT DEFAULT '',
        force INTEGER DEFAULT 0,
        bazarr_context_json TEXT DEFAULT '',
        created_at TEXT NOT NULL,
        completed_at TEXT DEFAULT ''""",
    "daily_stats": """
        date TEXT PRIMARY KEY,
        translated INTEGER DEFAULT 0,
        failed INTEGER DEFAULT 0,
        skipped INTEGER DEFAULT 0,
        by_format_json TEXT DEFAULT '{"ass": 0, "srt": 0}',
        by_source_json TEXT DEFAULT '{}'""",
    "config_entries": """
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL""",
    "provider_cache": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider_name TEXT NOT NULL,
        query_hash TEXT NOT NULL,
        results_json TEXT NOT NULL,
        cached_at TEXT NOT NULL,
        expires_at TEXT NOT NULL""",
    "subtitle_downloads": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider_name TEXT NOT NULL,
        subtitle_id TEXT NOT NULL,
        language TEXT NOT NULL,
        format TEXT DEFAULT '',
        file_path TEXT NOT NULL,
        score INTEGER DEFAULT 0,
        downloaded_at TEXT NOT NULL""",
    "wanted_items": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        item_type TEXT NOT NULL,
        sonarr_series_id INTEGER,
        sonarr_episode_id INTEGER,
        radarr_movie_id INTEGER,
        title TEXT NOT NULL DEFAULT '',
        season_episode TEXT DEFAULT '',
        file_path TEXT NOT NULL,
        existing_sub TEXT DEFAULT '',
        missing_languages TEXT DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'wanted',
        last_search_at TEXT DEFAULT '',
        search_count INTEGER DEFAULT 0,
        error TEXT DEFAULT '',
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL""",
    "upgrade_history": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        file_path TEXT NOT NULL,
        old_format TEXT,
        old_score INTEGER,
        new_format TEXT,
        new_score INTEGER,
        provider_name TEXT,
        upgrade_reason TEXT,
        upgraded_at TEXT NOT NULL""",
    "translation_config_history": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        config_hash TEXT NOT NULL UNIQUE,
        ollama_model TEXT,
        prompt_template TEXT,
        target_language TEXT,
        first_used_at TEXT NOT NULL,
        last_used_at TEXT NOT NULL""",
    "blacklist_entries": """
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider_name TEXT NOT NULL,
        subtitle_id TEXT NOT NULL,
        language TEXT DEFAULT '',
        file_path TEXT DEFAULT '',
        title TEXT DEFAULT '',
        reason TEXT DEFAULT '',
        added_at TEXT NOT NULL,
        UNIQUE(provider_name, subtitle_id)""",
    "language_profiles": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        source_language TEXT NOT NULL DEFAULT 'en',
        source_language_name TEXT NOT NULL DEFAULT 'English',
        target_languages_json TEXT NOT NULL DEFAULT '["de"]',
        target_language_names_json TEXT NOT NULL DEFAULT '["German"]',
        is_default INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "series_language_profiles": """
        sonarr_series_id INTEGER PRIMARY KEY,
        profile_id INTEGER NOT NULL,
        FOREIGN KEY (profile_id) REFERENCES language_profiles(id) ON DELETE CASCADE""",
    "movie_language_profiles": """
        radarr_movie_id INTEGER PRIMARY KEY,
        profile_id INTEGER NOT NULL,
        FOREIGN KEY (profile_id) REFERENCES language_profiles(id) ON DELETE CASCADE""",
    "ffprobe_cache": """
        file_path TEXT PRIMARY KEY,
        mtime REAL NOT NULL,
        probe_data_json TEXT NOT NULL,
        cached_at TEXT NOT NULL""",
    "glossary_entries": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        series_id INTEGER NOT NULL,
        source_term TEXT NOT NULL,
        target_term TEXT NOT NULL,
        notes TEXT DEFAULT '',
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "prompt_presets": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        prompt_template TEXT NOT NULL,
        is_default INTEGER DEFAULT 0,
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "provider_stats": f"""
        provider_name TEXT PRIMARY KEY,
        total_searches INTEGER DEFAULT 0,
        successful_downloads INTEGER DEFAULT 0,
        failed_downloads INTEGER DEFAULT 0,
        avg_score REAL DEFAULT 0,
        last_success_at TEXT,
        last_failure_at TEXT,
        consecutive_failures INTEGER DEFAULT 0,
        avg_response_time_ms REAL DEFAULT 0,
        last_response_time_ms REAL DEFAULT 0,
        auto_disabled INTEGER DEFAULT 0,
        disabled_until TEXT DEFAULT '',
        updated_at TEXT NOT NULL {DT_NOW}""",
    "anidb_mappings": """
        tvdb_id INTEGER PRIMARY KEY,
        anidb_id INTEGER NOT NULL,
        series_title TEXT,
        created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        last_used TIMESTAMP DEFAULT CURRENT_TIMESTAMP""",
    "translation_backend_stats": f"""
        backend_name TEXT PRIMARY KEY,
        total_requests INTEGER DEFAULT 0,
        successful_translations INTEGER DEFAULT 0,
        failed_translations INTEGER DEFAULT 0,
        total_characters INTEGER DEFAULT 0,
        avg_response_time_ms REAL DEFAULT 0,
        last_response_time_ms REAL DEFAULT 0,
        last_success_at TEXT,
        last_failure_at TEXT,
        last_error TEXT DEFAULT '',
        consecutive_failures INTEGER DEFAULT 0,
        updated_at TEXT NOT NULL {DT_NOW}""",
    "whisper_jobs": """
        id TEXT PRIMARY KEY,
        file_path TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'queued',
        progress REAL DEFAULT 0.0,
        phase TEXT DEFAULT '',
        backend_name TEXT DEFAULT '',
        detected_language TEXT DEFAULT '',
        language_probability REAL DEFAULT 0.0,
        srt_content TEXT DEFAULT '',
        segment_count INTEGER DEFAULT 0,
        duration_seconds REAL DEFAULT 0.0,
        processing_time_ms REAL DEFAULT 0.0,
        error TEXT DEFAULT '',
        created_at TEXT NOT NULL,
        started_at TEXT DEFAULT '',
        completed_at TEXT DEFAULT ''""",
    "watched_folders": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        path TEXT NOT NULL UNIQUE,
        label TEXT DEFAULT '',
        media_type TEXT DEFAULT 'auto',
        enabled INTEGER DEFAULT 1,
        last_scan_at TEXT DEFAULT '',
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "standalone_series": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        year INTEGER,
        folder_path TEXT NOT NULL,
        tmdb_id INTEGER,
        tvdb_id INTEGER,
        anilist_id INTEGER,
        imdb_id TEXT DEFAULT '',
        poster_url TEXT DEFAULT '',
        is_anime INTEGER DEFAULT 0,
        episode_count INTEGER DEFAULT 0,
        season_count INTEGER DEFAULT 0,
        metadata_source TEXT DEFAULT '',
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW},
        UNIQUE(folder_path)""",
    "standalone_movies": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        title TEXT NOT NULL,
        year INTEGER,
        file_path TEXT NOT NULL UNIQUE,
        tmdb_id INTEGER,
        imdb_id TEXT DEFAULT '',
        poster_url TEXT DEFAULT '',
        metadata_source TEXT DEFAULT '',
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "metadata_cache": """
        cache_key TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        response_json TEXT NOT NULL,
        cached_at TEXT NOT NULL,
        expires_at TEXT NOT NULL""",
    "hook_configs": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        event_name TEXT NOT NULL,
        hook_type TEXT DEFAULT 'script',
        enabled INTEGER DEFAULT 1,
        script_path TEXT DEFAULT '',
        timeout_seconds INTEGER DEFAULT 30,
        last_triggered_at TEXT DEFAULT '',
        last_status TEXT DEFAULT '',
        trigger_count INTEGER DEFAULT 0,
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "webhook_configs": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        event_name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT DEFAULT '',
        enabled INTEGER DEFAULT 1,
        retry_count INTEGER DEFAULT 3,
        timeout_seconds INTEGER DEFAULT 10,
        last_triggered_at TEXT DEFAULT '',
        last_status_code INTEGER DEFAULT 0,
        last_error TEXT DEFAULT '',
        consecutive_failures INTEGER DEFAULT 0,
        trigger_count INTEGER DEFAULT 0,
        created_at TEXT NOT NULL {DT_NOW},
        updated_at TEXT NOT NULL {DT_NOW}""",
    "hook_log": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hook_id INTEGER,
        webhook_id INTEGER,
        event_name TEXT NOT NULL,
        hook_type TEXT NOT NULL,
        success INTEGER NOT NULL,
        exit_code INTEGER DEFAULT NULL,
        status_code INTEGER DEFAULT NULL,
        stdout TEXT DEFAULT '',
        stderr TEXT DEFAULT '',
        error TEXT DEFAULT '',
        duration_ms REAL DEFAULT 0,
        triggered_at TEXT NOT NULL {DT_NOW}""",
    "scoring_weights": f"""
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        score_type TEXT NOT NULL,
        weight_key TEXT NOT NULL,
        weight_value INTEGER NOT NULL,
        updated_at TEXT NOT NULL {DT_NOW},
        UNIQUE(score_type, weight_key)""",
    "provider_score_modifiers": f"""
        provider_name TEXT PRIMARY KEY,
        modifier INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL {DT_NOW}""",
}
LEGACY_TABLES: tuple[str, ...] = tuple(SCHEMA)

# The 30 named indexes (none unique), with the table they index.
INDEXES: dict[str, tuple[str, str]] = {
    "idx_jobs_status": ("jobs", "status"),
    "idx_jobs_created": ("jobs", "created_at"),
    "idx_provider_cache_hash": ("provider_cache", "provider_name, query_hash"),
    "idx_provider_cache_expires": ("provider_cache", "expires_at"),
    "idx_subtitle_downloads_path": ("subtitle_downloads", "file_path"),
    "idx_wanted_status": ("wanted_items", "status"),
    "idx_wanted_item_type": ("wanted_items", "item_type"),
    "idx_wanted_file_path": ("wanted_items", "file_path"),
    "idx_wanted_sonarr_series": ("wanted_items", "sonarr_series_id"),
    "idx_wanted_sonarr_episode": ("wanted_items", "sonarr_episode_id"),
    "idx_wanted_radarr_movie": ("wanted_items", "radarr_movie_id"),
    "idx_upgrade_history_path": ("upgrade_history", "file_path"),
    "idx_blacklist_provider": ("blacklist_entries", "provider_name, subtitle_id"),
    "idx_ffprobe_cache_mtime": ("ffprobe_cache", "mtime"),
    "idx_glossary_series_id": ("glossary_entries", "series_id"),
    "idx_glossary_source_term": ("glossary_entries", "source_term"),
    "idx_provider_stats_updated": ("provider_stats", "updated_at"),
    "idx_anidb_mappings_anidb_id": ("anidb_mappings", "anidb_id"),
    "idx_translation_backend_stats_updated": ("translation_backend_stats", "updated_at"),
    "idx_whisper_jobs_status": ("whisper_jobs", "status"),
    "idx_whisper_jobs_created": ("whisper_jobs", "created_at"),
    "idx_standalone_series_tmdb": ("standalone_series", "tmdb_id"),
    "idx_standalone_series_anilist": ("standalone_series", "anilist_id"),
    "idx_standalone_movies_tmdb": ("standalone_movies", "tmdb_id"),
    "idx_metadata_cache_expires": ("metadata_cache", "expires_at"),
    "idx_hook_configs_event": ("hook_configs", "event_name"),
    "idx_webhook_configs_event": ("webhook_configs", "event_name"),
    "idx_hook_log_hook_id": ("hook_log", "hook_id"),
    "idx_hook_log_webhook_id": ("hook_log", "webhook_id"),
    "idx_hook_log_triggered_at": ("hook_log", "triggered_at"),
}

# _run_migrations, §2.4: (step, table, column DDL) for every ALTER TABLE ... ADD COLUMN.
MIGRATED_COLUMNS: tuple[tuple[int, str, str], ...] = (
    (1, "wanted_items", "upgrade_candidate INTEGER DEFAULT 0"),
    (1, "wanted_items", "current_score INTEGER DEFAULT 0"),
    (2, "jobs", "config_hash TEXT DEFAULT ''"),
    (3, "wanted_items", "target_language TEXT DEFAULT ''"),
    (3, "wanted_items", "instance_name TEXT DEFAULT ''"),
    (9, "language_profiles", "translation_backend TEXT DEFAULT 'ollama'"),
    (9, "language_profiles", "fallback_chain_json TEXT DEFAULT '[\"ollama\"]'"),
    (12, "wanted_items", "standalone_series_id INTEGER"),
    (12, "wanted_items", "standalone_movie_id INTEGER"),
    (14, "wanted_items", "subtitle_type TEXT DEFAULT 'full'"),
    (15, "subtitle_downloads", "subtitle_type TEXT DEFAULT 'full'"),
    (16, "language_profiles", "forced_preference TEXT DEFAULT 'disabled'"),
)
# provider_stats' response-time columns: inline in the final SCHEMA, appended by step 7 on older files.
PROVIDER_STATS_STEP = 7
PROVIDER_STATS_LATE = ("avg_response_time_ms REAL DEFAULT 0", "last_response_time_ms REAL DEFAULT 0",
                       "auto_disabled INTEGER DEFAULT 0", "disabled_until TEXT DEFAULT ''")

# The step whose release first knew each table (0 = the oldest schema). The hook and scoring tables
# have no migration step: they came with a later SCHEMA; they are placed with the final one here.
TABLE_STAGE: dict[str, int] = {
    **{t: 0 for t in SCHEMA},
    "glossary_entries": 5, "prompt_presets": 6, "anidb_mappings": 8, "translation_backend_stats": 10,
    "whisper_jobs": 11, "watched_folders": 13, "standalone_series": 13, "standalone_movies": 13,
    "metadata_cache": 13, "hook_configs": 16, "webhook_configs": 16, "hook_log": 16,
    "scoring_weights": 16, "provider_score_modifiers": 16,
}

# Timestamp columns: what adoption rewrites to the kernel's format.
TIMESTAMP_NAMES = {"last_used", "disabled_until"}


def is_timestamp_column(name: str) -> bool:
    return name.endswith("_at") or name in TIMESTAMP_NAMES


def tables_at(stage: int) -> list[str]:
    return [t for t in SCHEMA if TABLE_STAGE[t] <= stage]


def legacy_statements(tables: Iterable[str] | None = None, stage: int = FINAL_STAGE,
                      created_stage: int | None = None) -> list[str]:
    """The DDL the legacy code ran for ``tables`` as release ``stage`` left them (see the module doc).

    ``CREATE TABLE`` in legacy order, then their legacy ``CREATE INDEX``, then the ``ALTER TABLE ... ADD
    COLUMN`` of the steps up to ``stage`` in step order (so migrated columns are the last physical ones).
    ``tables`` defaults to every table ``stage`` knew; a table ``stage`` did not know is an error.
    """
    if not 0 <= stage <= FINAL_STAGE:
        raise ValueError(f"stage must be 0..{FINAL_STAGE}")
    created = stage if created_stage is None else created_stage
    if created > stage:
        raise ValueError("created_stage must not be later than stage")
    known = tables_at(stage)
    if tables is not None:
        requested = set(tables)
        if requested - set(known):
            raise ValueError(f"no legacy table {sorted(requested - set(known))} at stage {stage}")
        known = [t for t in known if t in requested]
    statements = []
    for table in known:
        body = SCHEMA[table]
        if table == "provider_stats" and created < PROVIDER_STATS_STEP:
            for ddl in PROVIDER_STATS_LATE:
                body = body.replace(f"\n        {ddl},", "")
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({body}\n)")
    for name, (table, cols) in INDEXES.items():
        if table in known:
            statements.append(f"CREATE INDEX IF NOT EXISTS {name} ON {table}({cols})")
    alters = list(MIGRATED_COLUMNS)
    if created < PROVIDER_STATS_STEP:
        alters += [(PROVIDER_STATS_STEP, "provider_stats", ddl) for ddl in PROVIDER_STATS_LATE]
    for step, table, ddl in sorted(alters, key=lambda a: a[0]):
        if step <= stage and table in known:
            statements.append(f"ALTER TABLE {table} ADD COLUMN {ddl}")
    return statements


def legacy_ddl(*tables: str, stage: int = FINAL_STAGE, created_stage: int | None = None) -> str:
    """:func:`legacy_statements` of ``tables`` (default: all) as one ``;``-separated script.

    What the domain tests compare their baseline revisions with: by default the final legacy release,
    in a file that release created (``provider_stats`` with its response-time columns inline).
    """
    return "".join(f"{statement};\n" for statement in legacy_statements(tables or None, stage, created_stage))


def create_legacy_db(path: str | Path, stage: int = FINAL_STAGE, created_stage: int | None = None) -> Path:
    """Write an empty legacy database as the legacy release ``stage`` left it (see the module doc)."""
    statements = legacy_statements(None, stage, created_stage)
    path = Path(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # get_db() set WAL on every start
        for statement in statements:
            conn.execute(statement)
        if stage >= 4:
            # step 4: an empty language_profiles gets the "Default" profile from the settings
            conn.execute(
                "INSERT INTO language_profiles (name, source_language, source_language_name, "
                "target_languages_json, target_language_names_json, is_default, created_at, updated_at) "
                "VALUES ('Default', 'en', 'English', '[\"de\"]', '[\"German\"]', 1, ?, ?)",
                (legacy_iso(datetime(2023, 12, 31, 23, 0, 0, 500)),) * 2,
            )
    finally:
        conn.close()
    return path


# -- rows -------------------------------------------------------------------------------------------

BASE_TIME = datetime(2024, 1, 2, 3, 4, 5)


def legacy_iso(moment: datetime) -> str:
    """What ``datetime.utcnow().isoformat()`` wrote: microseconds dropped when they are 0."""
    return moment.isoformat()


def legacy_ts(i: int, mixed: bool) -> str:
    """The i-th timestamp; ``mixed`` cycles through the three legacy formats."""
    moment = BASE_TIME + timedelta(minutes=i, microseconds=(i * 7919) % 1_000_000)
    if not mixed:
        return legacy_iso(moment)
    kind = i % 3
    if kind == 0:
        return legacy_iso(moment)                          # 2024-01-02T03:04:05.123456
    if kind == 1:
        return moment.strftime("%Y-%m-%d %H:%M:%S")        # datetime('now') / CURRENT_TIMESTAMP
    return legacy_iso(moment.replace(microsecond=0))       # 2024-01-02T03:04:05


RowFactory = Callable[[int, Callable[[int], str]], dict[str, Any]]
WANTED_STATUSES = ("wanted", "searching", "found", "failed", "ignored")


def _wanted(i: int, ts: Callable[[int], str]) -> dict[str, Any]:
    episode = i % 3 != 0
    return {
        "item_type": "episode" if episode else "movie",
        "sonarr_series_id": (i % 40) + 1 if episode else None,
        "sonarr_episode_id": 10_000 + i if episode else None,
        "radarr_movie_id": None if episode else 20_000 + i,
        "title": f"Show {i % 40} – Episode {i} ✓" if episode else f"Movie {i}",
        "season_episode": f"S{i % 9 + 1:02d}E{i % 24 + 1:02d}" if episode else "",
        "file_path": f"/media/{'tv' if episode else 'movies'}/item_{i:07d}.mkv",
        "existing_sub": "" if i % 4 else "srt",
        "missing_languages": json.dumps(["de"] if i % 2 else ["de", "fr"]),
        "status": WANTED_STATUSES[i % len(WANTED_STATUSES)],
        "last_search_at": ts(i + 1) if i % 5 else "",
        "search_count": i % 4,
        "error": "" if i % 7 else "timeout",
        "added_at": ts(i),
        "updated_at": ts(i + 2),
        "upgrade_candidate": i % 2,
        "current_score": (i * 13) % 500,
        "target_language": "de" if i % 10 else "",
        "instance_name": "" if i % 3 else "main",
        "standalone_series_id": None,
        "standalone_movie_id": i if i % 11 == 0 else None,
        "subtitle_type": "full" if i % 6 else "forced",
    }


ROWS: dict[str, RowFactory] = {
    "jobs": lambda i, ts: {
        "id": f"{i:08x}", "file_path": f"/media/tv/job_{i}.mkv",
        "status": ("queued", "running", "completed", "failed")[i % 4], "source_format": "ass" if i % 2 else "srt",
        "output_path": f"/media/tv/job_{i}.de.srt", "stats_json": json.dumps({"lines": i, "format": "ass"}),
        "error": "" if i % 4 != 3 else "boom", "force": i % 2,
        "bazarr_context_json": json.dumps({"sonarr_series_id": i}) if i % 3 == 0 else "",
        "created_at": ts(i), "completed_at": ts(i + 3) if i % 4 == 2 else "",
        "config_hash": f"{i:012x}" if i % 4 == 2 else "",
    },
    "daily_stats": lambda i, ts: {
        "date": (BASE_TIME.date() + timedelta(days=i)).isoformat(), "translated": i, "failed": i % 3,
        "skipped": i % 2, "by_format_json": json.dumps({"ass": i, "srt": 1}), "by_source_json": json.dumps({"sonarr": i}),
    },
    "config_entries": lambda i, ts: {"key": f"setting_{i}", "value": f"value {i}", "updated_at": ts(i)},
    "provider_cache": lambda i, ts: {
        "provider_name": f"provider{i % 3}", "query_hash": f"{i * 2654435761 % 2**32:08x}",
        "results_json": json.dumps([{"id": i}]), "cached_at": ts(i), "expires_at": ts(i + 360),
    },
    "subtitle_downloads": lambda i, ts: {
        "provider_name": f"provider{i % 3}", "subtitle_id": f"sub-{i}", "language": "de" if i % 2 else "en",
        "format": ("ass", "srt", "")[i % 3], "file_path": f"/media/tv/dl_{i}.mkv", "score": 100 + i,
        "downloaded_at": ts(i), "subtitle_type": "full" if i % 4 else "forced",
    },
    "wanted_items": _wanted,
    "upgrade_history": lambda i, ts: {
        "file_path": f"/media/tv/up_{i}.mkv", "old_format": "srt", "old_score": i, "new_format": "ass",
        "new_score": i + 50, "provider_name": f"provider{i % 3}", "upgrade_reason": "better score",
        "upgraded_at": ts(i),
    },
    "translation_config_history": lambda i, ts: {
        "config_hash": f"{i:012x}", "ollama_model": "qwen2.5", "prompt_template": f"Translate {i}"[:200],
        "target_language": "de", "first_used_at": ts(i), "last_used_at": ts(i + 5),
    },
    "blacklist_entries": lambda i, ts: {
        "provider_name": f"provider{i % 3}", "subtitle_id": f"bad-{i}", "language": "de",
        "file_path": f"/media/tv/bl_{i}.mkv", "title": f"Bad {i}", "reason": "out of sync", "added_at": ts(i),
    },
    "language_profiles": lambda i, ts: {
        "name": f"Profile {i}", "source_language": "en", "source_language_name": "English",
        "target_languages_json": json.dumps(["de", "fr"][: 1 + i % 2]),
        "target_language_names_json": json.dumps(["German", "French"][: 1 + i % 2]),
        "is_default": 0, "created_at": ts(i), "updated_at": ts(i + 1),
        "translation_backend": "ollama" if i % 2 else "deepl",
        "fallback_chain_json": json.dumps(["ollama"] if i % 2 else ["deepl", "ollama"]),
        "forced_preference": ("disabled", "separate", "auto")[i % 3],
    },
    "ffprobe_cache": lambda i, ts: {
        "file_path": f"/media/tv/probe_{i}.mkv", "mtime": 1_700_000_000.123456 + i * 1.5,
        "probe_data_json": json.dumps({"streams": [{"index": 0, "codec": "h264"}], "n": i}), "cached_at": ts(i),
    },
    "glossary_entries": lambda i, ts: {
        "series_id": i % 5 + 1, "source_term": f"Term {i}", "target_term": f"Begriff {i}",
        "notes": "" if i % 2 else "note", "created_at": ts(i), "updated_at": ts(i + 1),
    },
    "prompt_presets": lambda i, ts: {
        "name": "Default" if i == 0 else f"Preset {i}", "prompt_template": f"Translate into {{lang}} #{i}",
        "is_default": 1 if i == 0 else 0, "created_at": ts(i), "updated_at": ts(i + 1),
    },
    "provider_stats": lambda i, ts: {
        "provider_name": f"provider{i}", "total_searches": 10 * i + 3, "successful_downloads": 5 * i,
        "failed_downloads": i, "avg_score": 123.456 + i / 7, "last_success_at": ts(i),
        "last_failure_at": ts(i + 1) if i % 2 else None, "consecutive_failures": i % 3,
        "avg_response_time_ms": 250.5 + i, "last_response_time_ms": 199.25, "auto_disabled": i % 2,
        "disabled_until": ts(i + 30) if i % 2 else "", "updated_at": ts(i + 2),
    },
    "anidb_mappings": lambda i, ts: {
        "tvdb_id": 70_000 + i, "anidb_id": 1_000 + i, "series_title": f"Anime {i}",
        "created_at": ts(i), "last_used": ts(i + 10),
    },
    "translation_backend_stats": lambda i, ts: {
        "backend_name": f"backend{i}", "total_requests": 20 + i, "successful_translations": 18,
        "failed_translations": 2 + i, "total_characters": 12_345 * (i + 1), "avg_response_time_ms": 812.125,
        "last_response_time_ms": 700.0 + i, "last_success_at": ts(i), "last_failure_at": None,
        "last_error": "" if i % 2 else "rate limited", "consecutive_failures": 0, "updated_at": ts(i + 1),
    },
    "whisper_jobs": lambda i, ts: {
        "id": f"w{i:07d}", "file_path": f"/media/tv/w_{i}.mkv", "language": "ja",
        "status": ("queued", "running", "completed", "failed")[i % 4], "progress": (i % 4) / 4,
        "phase": "transcribing", "backend_name": "faster_whisper", "detected_language": "ja",
        "language_probability": 0.987654321, "srt_content": f"1\n00:00:01,000 --> 00:00:02,000\nLine {i}\n",
        "segment_count": i, "duration_seconds": 1420.5, "processing_time_ms": 98_765.4321,
        "error": "", "created_at": ts(i), "started_at": ts(i + 1), "completed_at": ts(i + 9) if i % 4 == 2 else "",
    },
    "watched_folders": lambda i, ts: {
        "path": f"/media/watched/{i}", "label": f"Folder {i}", "media_type": ("auto", "tv", "movie")[i % 3],
        "enabled": i % 2, "last_scan_at": ts(i + 4) if i % 2 else "", "created_at": ts(i), "updated_at": ts(i + 1),
    },
    "standalone_series": lambda i, ts: {
        "title": f"Standalone Show {i}", "year": 2000 + i, "folder_path": f"/media/standalone/show_{i}",
        "tmdb_id": 500 + i, "tvdb_id": None if i % 2 else 900 + i, "anilist_id": 300 + i if i % 3 == 0 else None,
        "imdb_id": f"tt{i:07d}", "poster_url": f"https://img.example/{i}.jpg", "is_anime": i % 2,
        "episode_count": 12 * i, "season_count": i % 4, "metadata_source": "tmdb",
        "created_at": ts(i), "updated_at": ts(i + 1),
    },
    "standalone_movies": lambda i, ts: {
        "title": f"Standalone Movie {i}", "year": 1990 + i, "file_path": f"/media/standalone/movie_{i}.mkv",
        "tmdb_id": 800 + i, "imdb_id": f"tt9{i:06d}", "poster_url": "", "metadata_source": "tmdb",
        "created_at": ts(i), "updated_at": ts(i + 1),
    },
    "metadata_cache": lambda i, ts: {
        "cache_key": f"tmdb:tv:{1000 + i}", "provider": "tmdb", "response_json": json.dumps({"id": 1000 + i}),
        "cached_at": ts(i), "expires_at": ts(i + 43_200),
    },
    "hook_configs": lambda i, ts: {
        "name": f"Hook {i}", "event_name": "subtitle_downloaded", "hook_type": "script", "enabled": i % 2,
        "script_path": f"/config/hooks/hook_{i}.sh", "timeout_seconds": 30 + i, "last_triggered_at": ts(i + 2),
        "last_status": "success" if i % 2 else "failed", "trigger_count": i, "created_at": ts(i),
        "updated_at": ts(i + 1),
    },
    "webhook_configs": lambda i, ts: {
        "name": f"Webhook {i}", "event_name": "*" if i % 2 else "translation_complete",
        "url": f"https://hooks.example/{i}", "secret": f"s3cret-{i}", "enabled": 1, "retry_count": 3,
        "timeout_seconds": 10, "last_triggered_at": "", "last_status_code": 200 if i % 2 else 0,
        "last_error": "", "consecutive_failures": i % 3, "trigger_count": i, "created_at": ts(i),
        "updated_at": ts(i + 1),
    },
    "hook_log": lambda i, ts: {
        "hook_id": i % 3 + 1 if i % 2 else None, "webhook_id": None if i % 2 else i % 3 + 1,
        "event_name": "subtitle_downloaded", "hook_type": "script" if i % 2 else "webhook", "success": i % 2,
        "exit_code": 0 if i % 2 else None, "status_code": None if i % 2 else 500,
        "stdout": f"out {i}", "stderr": "", "error": "" if i % 2 else "HTTP 500", "duration_ms": 12.5 * i,
        "triggered_at": ts(i),
    },
    "scoring_weights": lambda i, ts: {
        "score_type": "episode" if i % 2 else "movie", "weight_key": f"key_{i}", "weight_value": 10 * i,
        "updated_at": ts(i),
    },
    "provider_score_modifiers": lambda i, ts: {
        "provider_name": f"provider{i}", "modifier": i - 3, "updated_at": ts(i),
    },
}


@dataclass
class LegacyDb:
    """A built legacy database and what adoption must make of it."""

    path: Path
    stage: int
    created_stage: int
    counts: dict[str, int] = field(default_factory=dict)        # rows per table as built
    duplicate_ids: set[int] = field(default_factory=set)        # wanted ids adoption merges away
    orphans: dict[str, int] = field(default_factory=dict)       # orphaned assignments per table
    default_dt_rows: int = 0                                    # rows whose timestamps came from datetime('now')

    def expected_counts(self) -> dict[str, int]:
        """Rows per legacy table after adoption: the same, minus the documented merges."""
        expected = dict(self.counts)
        expected["wanted_items"] = expected.get("wanted_items", 0) - len(self.duplicate_ids)
        for table, n in self.orphans.items():
            expected[table] -= n
        return expected


def columns_of(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def existing_tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _insert(conn: sqlite3.Connection, table: str, rows: Iterable[dict[str, Any]]) -> int:
    cols = columns_of(conn, table)
    count = 0
    batch: list[tuple] = []
    names: list[str] | None = None
    for row in rows:
        present = [c for c in row if c in cols]
        if names is None:
            names = present
        batch.append(tuple(row[c] for c in names))
        count += 1
    if names:
        conn.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                         batch)
    return count


def fill(db: LegacyDb | Path | str, rows: int = 12, wanted: int = 60, *, mixed_timestamps: bool = False,
         duplicates: int = 0, orphans: int = 0, sql_default_rows: bool = False) -> LegacyDb:
    """Write rows into every table of a legacy database (plain sqlite3, like the legacy code).

    ``duplicates`` adds wanted items that repeat an earlier item's identity (file_path, target_language
    with NULL = '', subtitle_type); ``orphans`` adds profile assignments to deleted profiles;
    ``sql_default_rows`` inserts a few rows that leave their timestamps to ``DEFAULT (datetime('now'))``.
    """
    if not isinstance(db, LegacyDb):
        db = LegacyDb(Path(db), FINAL_STAGE, FINAL_STAGE)

    def ts(i: int) -> str:
        return legacy_ts(i, mixed_timestamps)

    conn = sqlite3.connect(db.path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        tables = existing_tables(conn)
        for table in tables:
            if table in ("series_language_profiles", "movie_language_profiles"):
                continue
            n = wanted if table == "wanted_items" else rows
            _insert(conn, table, (ROWS[table](i, ts) for i in range(n)))
        # delete some rows so that ids have holes and sqlite_sequence is above max(id)
        for table in ("wanted_items", "hook_log", "blacklist_entries"):
            if table in tables:
                conn.execute(f"DELETE FROM {table} WHERE id = (SELECT max(id) FROM {table})")
        if "wanted_items" in tables:
            _add_duplicates(conn, db, duplicates, ts)
        profile_ids = [r[0] for r in conn.execute("SELECT id FROM language_profiles ORDER BY id")]
        for table, key in (("series_language_profiles", "sonarr_series_id"),
                           ("movie_language_profiles", "radarr_movie_id")):
            assignments = [{key: 100 + i, "profile_id": profile_ids[i % len(profile_ids)]} for i in range(rows)]
            assignments += [{key: 9_000 + i, "profile_id": 90_000 + i} for i in range(orphans)]
            _insert(conn, table, assignments)
            if orphans:
                db.orphans[table] = orphans
        if sql_default_rows:
            db.default_dt_rows = _add_default_timestamp_rows(conn, tables)
        conn.execute("COMMIT")
        db.counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()
    return db


def _add_duplicates(conn: sqlite3.Connection, db: LegacyDb, duplicates: int, ts) -> None:
    cols = columns_of(conn, "wanted_items")
    originals = conn.execute("SELECT id, file_path FROM wanted_items ORDER BY id LIMIT ?", (duplicates,)).fetchall()
    for k, (orig_id, file_path) in enumerate(originals):
        row = _wanted(100_000 + k, ts)
        row["file_path"] = file_path
        if "target_language" in cols:
            original = conn.execute("SELECT target_language, subtitle_type FROM wanted_items WHERE id = ?"
                                    if "subtitle_type" in cols else
                                    "SELECT target_language, 'full' FROM wanted_items WHERE id = ?",
                                    (orig_id,)).fetchone()
            # the legacy lookup treats NULL and '' alike: a NULL twin of a '' item is a duplicate too
            row["target_language"] = None if original[0] == "" and k % 2 else original[0]
            row["subtitle_type"] = original[1]
        _insert(conn, "wanted_items", [row])
        db.duplicate_ids.add(conn.execute("SELECT max(id) FROM wanted_items").fetchone()[0])


def _add_default_timestamp_rows(conn: sqlite3.Connection, tables: list[str]) -> int:
    """Rows written without their dt-now columns: SQLite fills ``YYYY-MM-DD HH:MM:SS``."""
    added = 0
    if "glossary_entries" in tables:
        conn.execute("INSERT INTO glossary_entries (series_id, source_term, target_term) VALUES (99, 'Hi', 'Hallo')")
        added += 1
    if "scoring_weights" in tables:
        conn.execute("INSERT INTO scoring_weights (score_type, weight_key, weight_value) VALUES ('episode', 'dflt', 7)")
        added += 1
    if "anidb_mappings" in tables:
        conn.execute("INSERT INTO anidb_mappings (tvdb_id, anidb_id) VALUES (79999, 4242)")
        added += 1
    return added


def make_legacy_db(path: str | Path, stage: int = FINAL_STAGE, created_stage: int | None = None,
                   **fill_args: Any) -> LegacyDb:
    """:func:`create_legacy_db` + :func:`fill` in one call."""
    created = stage if created_stage is None else created_stage
    create_legacy_db(path, stage, created)
    return fill(LegacyDb(Path(path), stage, created), **fill_args)


def read_table(path: str | Path, table: str) -> list[dict[str, Any]]:
    """Every row of ``table`` as ``dict(sqlite3.Row)`` (the legacy row shape), ordered by rowid."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY rowid")]
    finally:
        conn.close()
