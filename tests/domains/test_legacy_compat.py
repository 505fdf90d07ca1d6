"""Code written against the legacy sqlite3 data layer runs unchanged, on every engine.

Three breaks a side-by-side run of the legacy layer and ours found: duplicates must still be
``sqlite3.IntegrityError`` with SQLite's message (legacy routes turn ``"UNIQUE constraint" in str(e)``
into HTTP 409), ``record_subtitle_download(..., fmt=None, ...)`` stores NULL, and name-ordered reads
sort in SQLite's binary (code-point) order whatever the database's collation. Each test runs the
legacy caller's own pattern.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import uuid

import pytest
from sqlalchemy import func, select, text

from sublarr.core.errors import DuplicateError
from sublarr.plugins import profiles, providers, standalone, translation, wanted, whisper
from sublarr.plugins.profiles.models import language_profiles
from sublarr.plugins.providers.models import subtitle_downloads
from sublarr.plugins.translation.models import prompt_presets
from sublarr.plugins.whisper.models import whisper_jobs
from tests.conftest import boot


def legacy_route(call) -> tuple[int, str]:
    """What the legacy routes did with a data-layer call: 409 for a duplicate, 500 for any other
    database error (``routes/profiles.py``: ``except sqlite3.IntegrityError as e: if "UNIQUE
    constraint" in str(e): return 409``)."""
    try:
        call()
    except sqlite3.IntegrityError as e:
        return (409, str(e)) if "UNIQUE constraint" in str(e) else (500, str(e))
    return 201, ""


def rows(kernel, table) -> int:
    with kernel.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _profile(name: str) -> int:
    return profiles.create_language_profile(name, "en", "English", ["de"], ["German"])


# -- duplicates ------------------------------------------------------------------------------------

def test_a_duplicate_profile_name_is_a_legacy_integrity_error_and_a_value_error(kernel):
    _profile("Anime")
    before = rows(kernel, language_profiles)
    status, message = legacy_route(lambda: _profile("Anime"))
    assert status == 409
    assert message.startswith("UNIQUE constraint failed: language_profiles.name")
    with pytest.raises(ValueError, match="named 'Anime' exists already"):  # new code's view
        _profile("Anime")
    assert rows(kernel, language_profiles) == before


def test_renaming_a_profile_to_a_taken_name_is_a_legacy_integrity_error(kernel):
    _profile("Anime")
    other = _profile("Movies")
    status, message = legacy_route(lambda: profiles.update_language_profile(other, name="Anime"))
    assert status == 409 and "UNIQUE constraint failed: language_profiles.name" in message
    assert profiles.get_language_profile(other)["name"] == "Movies"


def test_a_duplicate_whisper_job_id_is_a_legacy_integrity_error(kernel):
    whisper.create_whisper_job("job-1", "/media/a.mkv")
    status, message = legacy_route(lambda: whisper.create_whisper_job("job-1", "/media/b.mkv"))
    assert status == 409 and message.startswith("UNIQUE constraint failed: whisper_jobs.id")
    assert rows(kernel, whisper_jobs) == 1
    assert whisper.get_whisper_job("job-1")["file_path"] == "/media/a.mkv"


def test_a_duplicate_prompt_preset_name_is_a_legacy_integrity_error_and_keeps_the_default(kernel):
    translation.add_prompt_preset("Formal", "Translate formally: {text}")
    default = translation.get_default_prompt_preset()
    for call in (lambda: translation.add_prompt_preset("Formal", "other", is_default=True),
                 lambda: translation.update_prompt_preset(default["id"], name="Formal")):
        status, message = legacy_route(call)
        assert status == 409 and message.startswith("UNIQUE constraint failed: prompt_presets.name")
    assert translation.get_default_prompt_preset() == default  # the failed add/update left it
    assert rows(kernel, prompt_presets) == 2


def test_moving_a_watched_folder_onto_a_taken_path_is_a_legacy_integrity_error(kernel):
    standalone.upsert_watched_folder("/media/a")
    b = standalone.upsert_watched_folder("/media/b")
    status, message = legacy_route(lambda: standalone.update_watched_folder(b, path="/media/a"))
    assert status == 409 and message.startswith("UNIQUE constraint failed: watched_folders.path")
    assert standalone.get_watched_folder(b)["path"] == "/media/b"


def test_the_duplicate_error_carries_sqlites_code_and_survives_pickling():
    error = DuplicateError("language_profiles", "name", "a language profile named 'x' exists already")
    assert isinstance(error, ValueError) and isinstance(error, sqlite3.IntegrityError)
    assert (error.sqlite_errorcode, error.sqlite_errorname) == (sqlite3.SQLITE_CONSTRAINT_UNIQUE,
                                                                "SQLITE_CONSTRAINT_UNIQUE")
    copy = pickle.loads(pickle.dumps(error))  # queues and process pools pickle exceptions
    assert type(copy) is DuplicateError and str(copy) == str(error) and copy.table == "language_profiles"
    assert str(DuplicateError("t", "c")) == "UNIQUE constraint failed: t.c"


# -- record_subtitle_download(fmt=None) ------------------------------------------------------------

def test_a_download_without_a_format_stores_null_and_counts_as_unknown(kernel):
    from sublarr.plugins import library

    new_id = providers.record_subtitle_download("opensubtitles", "s1", "de", None, "/media/a.mkv", 80)
    providers.record_subtitle_download("opensubtitles", "s2", "de", "", "/media/b.mkv", 70)
    providers.record_subtitle_download("opensubtitles", "s3", "de", "srt", "/media/c.mkv", 90)
    downloads = subtitle_downloads
    with kernel.engine.connect() as conn:
        stored = conn.execute(select(downloads.c.format).where(downloads.c.id == new_id)).scalar_one()
    assert stored is None
    assert library.get_download_stats()["by_format"] == {"unknown": 2, "srt": 1}
    assert providers.get_provider_download_stats() == {
        "opensubtitles": {"total": 3, "by_format": {"unknown": 2, "srt": 1}}}
    with pytest.raises(ValueError, match="fmt must be a string"):  # None is the one non-string allowed
        providers.record_subtitle_download("opensubtitles", "s4", "de", 3, "/media/d.mkv", 90)


# -- binary (code-point) order of name-ordered reads -----------------------------------------------

# The example: a linguistic collation sorts "100% sure | Äpfel | apple | Banana ...",
# SQLite's BINARY (and the legacy layer) "100% sure | Banana | ... | apple | ... | Äpfel".
NAMES = ["apple", "Banana", "100% sure", "Äpfel", "Zebra", "zebra", "éclair", "_under", "~tilde", "10 b", "2 a"]
BINARY = sorted(NAMES)  # Python compares str by code point


def _fill(kernel) -> None:
    for n, name in enumerate(NAMES):
        translation.add_glossary_entry(1, name, f"t{n}")
        translation.add_prompt_preset(name, f"prompt {n}")
        translation.record_backend_failure(name, "down")
        standalone.upsert_standalone_series(name, f"/series/{n}")
        standalone.upsert_watched_folder(f"/w/{name}")
        providers.update_provider_stats(name, success=True, score=10)
        providers.auto_disable_provider(name, cooldown_minutes=60)
        providers.cache_provider_results(name, "q", "[]")
        providers.record_subtitle_download(name, f"s{n}", "de", "srt", f"/media/{n}.mkv", 50)
        _profile(name)
    for n, status in enumerate(["wanted", "Wanted", "ignored", "Ärger"]):
        wanted.upsert_wanted_item("episode", f"/media/e{n}.mkv", existing_sub=status)


def _assert_binary_order(kernel) -> None:
    assert [e["source_term"] for e in translation.get_glossary_entries(1)] == BINARY
    assert [p["name"] for p in translation.get_prompt_presets()] == ["Default", *BINARY]  # the default first
    assert [b["backend_name"] for b in translation.get_backend_stats()] == BINARY
    assert [s["title"] for s in standalone.get_standalone_series()] == BINARY
    assert [f["path"] for f in standalone.get_watched_folders()] == sorted(f"/w/{n}" for n in NAMES)
    assert list(providers.get_provider_stats()) == BINARY
    assert [p["provider_name"] for p in providers.get_all_provider_stats()] == BINARY
    assert [p["provider_name"] for p in providers.get_disabled_providers()] == BINARY
    assert list(providers.get_provider_cache_stats()) == BINARY
    assert list(providers.get_provider_download_stats()) == BINARY
    assert [p["name"] for p in profiles.get_all_language_profiles()] == ["Default", *BINARY]
    assert list(wanted.get_wanted_summary()["by_existing"]) == ["Wanted", "ignored", "wanted", "Ärger"]


def test_name_ordered_reads_sort_by_code_point(kernel):
    _fill(kernel)
    _assert_binary_order(kernel)


def test_name_ordered_reads_sort_by_code_point_in_a_postgresql_database_with_an_icu_collation(pg_server):
    """A database created with a linguistic default collation (ICU en-US) sorts the same names
    differently in plain SQL; the domain reads must still list them in the legacy order."""
    name = f"sublarr_e_{os.getpid()}_icu_{uuid.uuid4().hex[:6]}"
    with pg_server.admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu "
                          "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"))
    try:
        kernel = boot(pg_server.url_for(name))
        try:
            with kernel.engine.connect() as conn:  # the premise: this database's own order is not binary
                plain = conn.execute(text("SELECT x FROM unnest(CAST(:names AS text[])) AS t(x) ORDER BY x"),
                                     {"names": NAMES}).scalars().all()
            assert plain != BINARY and plain.index("Äpfel") < plain.index("Banana")
            _fill(kernel)
            _assert_binary_order(kernel)
        finally:
            kernel.close()
    finally:
        pg_server.drop(name)
