"""Text bound for an indexed, primary-key or unique column is capped at MAX_INDEXED_BYTES (UTF-8).

PostgreSQL cannot store a btree entry above ~2704 bytes, SQLite can: without the cap a long,
hard-to-compress value was a raw database error on PostgreSQL only. Now, on both dialects, a value
of up to 2000 bytes is stored and read back exactly, and a longer one is a ValueError naming the
field that leaves the table unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from sublarr.core.domain import MAX_COMPOSITE_KEY_BYTES, MAX_INDEXED_BYTES, require_str

# Random-ish CJK (3 bytes per character in UTF-8): PostgreSQL cannot compress it below the limit.
FITS = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(666))
TOO_LONG = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))
assert len(FITS.encode()) == 1998 <= MAX_INDEXED_BYTES
assert len(TOO_LONG.encode()) == 6000


def _wanted_path(k, s):
    k.repo("wanted").upsert_wanted_item("episode", s)


def _wanted_language(k, s):
    k.repo("wanted").upsert_wanted_item("episode", "/a.mkv", target_language=s)


def _wanted_batch(k, s):
    k.repo("wanted").upsert_wanted_items([{"item_type": "episode", "file_path": "/b.mkv"},
                                          {"item_type": "movie", "file_path": s}])


def _job(k, s):
    k.repo("jobs").create_job(s)


def _blacklist_provider(k, s):
    k.repo("blacklist").add_blacklist_entry(s, "sub")


def _blacklist_subtitle(k, s):
    k.repo("blacklist").add_blacklist_entry("prov", s)


def _ffprobe(k, s):
    k.repo("cache").set_ffprobe_cache(s, 1.0, {"streams": []})


def _watched_folder(k, s):
    k.repo("standalone").upsert_watched_folder(s)


def _standalone_series(k, s):
    k.repo("standalone").upsert_standalone_series("t", s)


def _standalone_movie(k, s):
    k.repo("standalone").upsert_standalone_movie("t", s)


def _metadata_cache(k, s):
    k.repo("standalone").cache_metadata(s, "tmdb", "{}")


def _search(k, s):
    k.repo("providers").record_search(s, True)


def _provider_cache(k, s):
    k.repo("providers").cache_provider_results("prov", s, "[]")


def _download(k, s):
    k.repo("providers").record_subtitle_download("prov", "sub", "en", "srt", s, 10)


def _glossary(k, s):
    k.repo("translation").add_glossary_entry(1, s, "t")


def _backend(k, s):
    k.repo("translation").record_backend_success(s, 10.0, 5)


def _preset(k, s):
    k.repo("translation").add_prompt_preset(s, "template")


def _upgrade(k, s):
    k.repo("library").record_upgrade(s, "srt", 10, "ass", 20)


def _profile(k, s):
    k.repo("profiles").create_language_profile(s, "en", "English", ["de"], ["German"])


def _hook(k, s):
    k.repo("hooks").create_hook("n", s, "/x.sh")


def _modifier(k, s):
    k.repo("scoring").set_provider_modifier(s, 5)


def _whisper(k, s):
    k.repo("whisper").create_whisper_job(s, "/w.mkv")


CASES: list[tuple[str, Callable[[Any, str], None], str, str]] = [  # (name, write, table, column)
    ("wanted file_path", _wanted_path, "wanted_items", "file_path"),
    ("wanted target_language", _wanted_language, "wanted_items", "target_language"),
    ("wanted batch file_path", _wanted_batch, "wanted_items", "file_path"),
    ("jobs file_path", _job, "jobs", "file_path"),
    ("blacklist provider_name", _blacklist_provider, "blacklist_entries", "provider_name"),
    ("blacklist subtitle_id", _blacklist_subtitle, "blacklist_entries", "subtitle_id"),
    ("ffprobe file_path", _ffprobe, "ffprobe_cache", "file_path"),
    ("watched folder path", _watched_folder, "watched_folders", "path"),
    ("standalone series folder_path", _standalone_series, "standalone_series", "folder_path"),
    ("standalone movie file_path", _standalone_movie, "standalone_movies", "file_path"),
    ("metadata cache_key", _metadata_cache, "metadata_cache", "cache_key"),
    ("provider stats provider_name", _search, "provider_stats", "provider_name"),
    ("provider cache query_hash", _provider_cache, "provider_cache", "query_hash"),
    ("download file_path", _download, "subtitle_downloads", "file_path"),
    ("glossary source_term", _glossary, "glossary_entries", "source_term"),
    ("backend_name", _backend, "translation_backend_stats", "backend_name"),
    ("preset name", _preset, "prompt_presets", "name"),
    ("upgrade file_path", _upgrade, "upgrade_history", "file_path"),
    ("profile name", _profile, "language_profiles", "name"),
    ("hook event_name", _hook, "hook_configs", "event_name"),
    ("provider modifier provider_name", _modifier, "provider_score_modifiers", "provider_name"),
    ("whisper job id", _whisper, "whisper_jobs", "id"),
]
IDS = [name for name, *_ in CASES]


def _values(kernel, table: str, column: str) -> list[str]:
    with kernel.engine.connect() as conn:
        return sorted(conn.execute(text(f"SELECT {column} FROM {table}")).scalars())


@pytest.mark.parametrize("name, write, table, column", CASES, ids=IDS)
def test_value_up_to_the_limit_round_trips(kernel, name, write, table, column):
    write(kernel, FITS)
    assert FITS in _values(kernel, table, column)


@pytest.mark.parametrize("name, write, table, column", CASES, ids=IDS)
def test_longer_value_is_a_value_error_and_writes_nothing(kernel, name, write, table, column):
    before = _values(kernel, table, column)
    field = column if column != "id" else "job_id"
    with pytest.raises(ValueError, match=rf"{field}.*at most {MAX_INDEXED_BYTES} bytes"):
        write(kernel, TOO_LONG)
    assert _values(kernel, table, column) == before


def test_composite_key_is_capped_as_a_whole(kernel):
    """Each part fits, together they would not fit one btree entry: ValueError, nothing written.
    Up to MAX_COMPOSITE_KEY_BYTES together is stored on both dialects."""
    language = FITS[:198]  # 1998 + 594 + len("full") = 2596 bytes of key
    item = kernel.repo("wanted").upsert_wanted_item("episode", FITS, target_language=language)
    stored = kernel.repo("wanted").get_wanted_item(item)
    assert (stored["file_path"], stored["target_language"]) == (FITS, language)
    kernel.repo("wanted").delete_wanted_item(item)
    with pytest.raises(ValueError, match=f"target_language.* at most {MAX_COMPOSITE_KEY_BYTES} bytes"):
        kernel.repo("wanted").upsert_wanted_item("episode", FITS, target_language=FITS)
    with pytest.raises(ValueError, match=f"subtitle_id.* at most {MAX_COMPOSITE_KEY_BYTES} bytes"):
        kernel.repo("blacklist").add_blacklist_entry(FITS, FITS)
    with kernel.engine.connect() as conn:
        for table in ("wanted_items", "blacklist_entries"):
            assert conn.execute(select(func.count()).select_from(text(table))).scalar_one() == 0


def test_require_str_max_bytes():
    assert require_str("f", "é" * 1000, max_bytes=2000) == "é" * 1000
    with pytest.raises(ValueError, match=r"^f must be at most 2000 bytes in UTF-8, got 2002$"):
        require_str("f", "é" * 1001, max_bytes=2000)
    assert require_str("f", "x" * 10**5) == "x" * 10**5  # no cap unless asked
