"""library domain: download history (``subtitle_downloads``, owned by providers) and
``upgrade_history`` (legacy ``db/library.py``) on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlalchemy import Text, func, inspect, select

from sublarr.core import timeutil
from sublarr.plugins import library
from sublarr.plugins.library.models import upgrade_history
from sublarr.plugins.providers.models import subtitle_downloads
from tests.conftest import boot
from tests.domains.schema import compare_with_legacy, create_legacy_tables, reflect, type_name

DOWNLOAD_KEYS = ["id", "provider_name", "subtitle_id", "language", "format", "file_path", "score",
                 "downloaded_at", "subtitle_type"]
UPGRADE_KEYS = ["id", "file_path", "old_format", "old_score", "new_format", "new_score", "provider_name",
                "upgrade_reason", "upgraded_at"]
TRICKY = ["it's \"quoted\"", "100% _under_ \\back", "Ünïcödé 字幕 🎬", "x" * 2000]  # the longest indexed value (MAX_INDEXED_BYTES)
TRICKY_IDS = ["quotes", "like-metacharacters", "unicode", "long"]

_seq = itertools.count()


def add_download(kernel, *, provider="opensubtitles", language="de", fmt="ass", downloaded_at=None,
                 file_path="/media/show/ep.mkv", score=100) -> None:
    """A download row written straight to the table (timestamps and NULL formats under test control)."""
    with kernel.engine.begin() as conn:
        conn.execute(subtitle_downloads.insert().values(
            provider_name=provider, subtitle_id=f"sub{next(_seq)}", language=language, format=fmt,
            file_path=file_path, score=score, downloaded_at=downloaded_at or timeutil.now_iso()))


def ago(**delta) -> str:
    return timeutil.iso_in(**{k: -v for k, v in delta.items()})


def upgrade_count(kernel) -> int:
    with kernel.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(upgrade_history)).scalar_one()


def test_package_functions_and_repository(kernel):
    assert set(library.__all__) == {"get_download_history", "get_download_stats", "record_upgrade",
                                    "get_upgrade_history", "get_upgrade_stats", "get_library_stats"}
    add_download(kernel)
    assert library.get_download_history() == kernel.repo("library").get_download_history()


# -- download history ------------------------------------------------------------------------------

def test_download_history_of_an_empty_table(kernel):
    assert library.get_download_history() == {"data": [], "page": 1, "per_page": 50, "total": 0, "total_pages": 1}


def test_download_history_rows_written_by_the_providers_domain(kernel):
    kernel.repo("providers").record_subtitle_download("jimaku", "s1", "ja", "ass", "/a/ep1.mkv", 321)
    page = library.get_download_history()
    assert page["total"] == 1
    row = page["data"][0]
    assert list(row) == DOWNLOAD_KEYS
    assert (row["provider_name"], row["subtitle_id"], row["language"], row["format"]) == ("jimaku", "s1", "ja", "ass")
    assert (row["file_path"], row["score"], row["subtitle_type"]) == ("/a/ep1.mkv", 321, "full")


def test_download_history_newest_first_and_paginated(kernel):
    for day in range(7):
        add_download(kernel, downloaded_at=f"2026-01-0{day + 1}T12:00:00.000000", file_path=f"/ep{day}")
    first = library.get_download_history(page=1, per_page=3)
    assert [r["file_path"] for r in first["data"]] == ["/ep6", "/ep5", "/ep4"]
    assert (first["page"], first["per_page"], first["total"], first["total_pages"]) == (1, 3, 7, 3)
    last = library.get_download_history(page=3, per_page=3)
    assert [r["file_path"] for r in last["data"]] == ["/ep0"]
    assert library.get_download_history(page=4, per_page=3)["data"] == []


def test_download_history_equal_timestamps_never_repeat_across_pages(kernel):
    for i in range(6):
        add_download(kernel, downloaded_at="2026-01-01T00:00:00.000000", file_path=f"/same{i}")
    seen = [r["id"] for p in (1, 2, 3) for r in library.get_download_history(page=p, per_page=2)["data"]]
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 6


def test_download_history_filters_are_exact_and_only_applied_when_truthy(kernel):
    add_download(kernel, provider="jimaku", language="de")
    add_download(kernel, provider="jimaku", language="en")
    add_download(kernel, provider="Jimaku", language="de")
    add_download(kernel, provider="jimaku_x", language="de")
    assert library.get_download_history(provider="jimaku")["total"] == 2
    assert library.get_download_history(provider="jimaku", language="de")["total"] == 1
    assert library.get_download_history(provider="jimak_")["total"] == 0
    assert library.get_download_history(language="de")["total"] == 3
    assert library.get_download_history(provider="", language="")["total"] == 4


@pytest.mark.parametrize("kwargs", [{"page": 0}, {"per_page": 0}, {"page": -1}, {"per_page": "5"},
                                    {"provider": 1}, {"language": b"de"}])
def test_download_history_bad_arguments(kernel, kwargs):
    with pytest.raises(ValueError):
        library.get_download_history(**kwargs)


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_download_history_filter_strings_round_trip(kernel, text):
    add_download(kernel, provider=text, language=text, file_path=text)
    add_download(kernel, provider="other")
    page = library.get_download_history(provider=text, language=text)
    assert page["total"] == 1 and page["data"][0]["file_path"] == text


# -- download stats --------------------------------------------------------------------------------

def test_download_stats_of_an_empty_table(kernel):
    stats = library.get_download_stats()
    assert stats == {"total_downloads": 0, "by_provider": {}, "by_format": {}, "by_language": {},
                     "last_24h": 0, "last_7d": 0}
    assert list(stats) == ["total_downloads", "by_provider", "by_format", "by_language", "last_24h", "last_7d"]


def test_download_stats_counts(kernel):
    add_download(kernel, provider="jimaku", fmt="ass", language="de")
    add_download(kernel, provider="jimaku", fmt="srt", language="en")
    add_download(kernel, provider="animetosho", fmt="ass", language="de")
    stats = library.get_download_stats()
    assert stats["total_downloads"] == 3
    assert stats["by_provider"] == {"animetosho": 1, "jimaku": 2}
    assert list(stats["by_provider"]) == ["animetosho", "jimaku"]
    assert stats["by_format"] == {"ass": 2, "srt": 1}
    assert stats["by_language"] == {"de": 2, "en": 1}


def test_empty_and_null_formats_and_languages_are_summed_under_unknown(kernel):
    # legacy: {format or "unknown": count} let the '' group overwrite the NULL group (or vice versa)
    add_download(kernel, fmt=None, language="")
    add_download(kernel, fmt=None, language="")
    add_download(kernel, fmt="", language="")
    add_download(kernel, fmt="ass", language="de")
    stats = library.get_download_stats()
    assert stats["by_format"] == {"unknown": 3, "ass": 1}
    assert list(stats["by_format"]) == ["unknown", "ass"]
    assert stats["by_language"] == {"unknown": 3, "de": 1}
    assert sum(stats["by_format"].values()) == stats["total_downloads"] == 4


def test_download_windows_are_exact(kernel):
    add_download(kernel, downloaded_at=ago(hours=23, minutes=59))   # in both windows
    add_download(kernel, downloaded_at=ago(days=1, minutes=1))      # 7 days only
    add_download(kernel, downloaded_at=ago(days=6, hours=23))       # 7 days only
    add_download(kernel, downloaded_at=ago(days=7, minutes=1))      # neither
    add_download(kernel, downloaded_at=ago(days=30))                # neither
    stats = library.get_download_stats()
    assert (stats["last_24h"], stats["last_7d"], stats["total_downloads"]) == (1, 3, 5)


def test_download_windows_do_not_count_the_whole_boundary_day(kernel):
    # Legacy compared 'YYYY-MM-DDTHH...' rows with datetime('now', '-1 day') = 'YYYY-MM-DD HH...':
    # 'T' > ' ', so any row of the cutoff's calendar day counted, even hours outside the window.
    day_start = (timeutil.utcnow() - timedelta(days=1)).date().isoformat() + "T00:00:00.000000"
    week_start = (timeutil.utcnow() - timedelta(days=7)).date().isoformat() + "T00:00:00.000000"
    add_download(kernel, downloaded_at=day_start)
    add_download(kernel, downloaded_at=week_start)
    stats = library.get_download_stats()
    assert stats["last_24h"] == 0
    assert stats["last_7d"] == 1


def test_download_windows_accept_legacy_timestamps_without_microseconds(kernel):
    moment = timeutil.utcnow() - timedelta(hours=2)
    add_download(kernel, downloaded_at=moment.replace(microsecond=0).isoformat())
    assert library.get_download_stats()["last_24h"] == 1


# -- upgrades --------------------------------------------------------------------------------------

def test_record_and_read_an_upgrade(kernel):
    assert library.record_upgrade("/a/ep1.mkv", "srt", 120, "ass", 300, "jimaku", "srt->ass") is None
    rows = library.get_upgrade_history()
    assert len(rows) == 1 and list(rows[0]) == UPGRADE_KEYS
    row = rows[0]
    assert (row["file_path"], row["old_format"], row["old_score"]) == ("/a/ep1.mkv", "srt", 120)
    assert (row["new_format"], row["new_score"], row["provider_name"], row["upgrade_reason"]) == \
        ("ass", 300, "jimaku", "srt->ass")
    assert timeutil.parse(row["upgraded_at"]) is not None and len(row["upgraded_at"]) == 26


def test_record_upgrade_defaults_and_nullable_columns(kernel):
    library.record_upgrade("/a", "srt", 1, "ass", 2)
    library.record_upgrade("/b", None, None, None, None, None, None)
    by_path = {r["file_path"]: r for r in library.get_upgrade_history()}
    assert (by_path["/a"]["provider_name"], by_path["/a"]["upgrade_reason"]) == ("", "")
    assert all(by_path["/b"][k] is None for k in UPGRADE_KEYS[2:8])


@pytest.mark.parametrize("args", [
    (None, "srt", 1, "ass", 2), (1, "srt", 1, "ass", 2), ("/a", 1, 1, "ass", 2), ("/a", "srt", "1", "ass", 2),
    ("/a", "srt", 1.5, "ass", 2), ("/a", "srt", 1, "ass", True), ("/a", "srt", 2**31, "ass", 2),
    ("/a", "srt", 1, "ass", 2, 5),
    ("/a", "srt", 1, "ass", 2, "p", b"r"), ("/a\x00", "srt", 1, "ass", 2),
])
def test_record_upgrade_bad_inputs_write_nothing(kernel, args):
    with pytest.raises(ValueError):
        library.record_upgrade(*args)
    assert upgrade_count(kernel) == 0


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_upgrade_strings_round_trip(kernel, text):
    library.record_upgrade(text, text, 0, text, 1, text, text)
    row = library.get_upgrade_history()[0]
    assert row["file_path"] == row["old_format"] == row["provider_name"] == row["upgrade_reason"] == text


def test_upgrade_history_newest_first_with_limit(kernel):
    for i in range(5):
        library.record_upgrade(f"/ep{i}", "srt", i, "ass", i + 1)
    with kernel.engine.begin() as conn:  # give the rows distinct, out-of-insertion-order times
        for i, stamp in enumerate(["2026-01-03", "2026-01-05", "2026-01-01", "2026-01-04", "2026-01-02"]):
            conn.execute(upgrade_history.update().where(upgrade_history.c.file_path == f"/ep{i}")
                         .values(upgraded_at=stamp + "T00:00:00.000000"))
    assert [r["file_path"] for r in library.get_upgrade_history()] == ["/ep1", "/ep3", "/ep0", "/ep4", "/ep2"]
    assert [r["file_path"] for r in library.get_upgrade_history(limit=2)] == ["/ep1", "/ep3"]
    assert library.get_upgrade_history(limit=0) == []


def test_upgrade_history_default_limit_is_50(kernel):
    for i in range(53):
        library.record_upgrade(f"/ep{i}", "srt", 0, "ass", 1)
    assert len(library.get_upgrade_history()) == 50


@pytest.mark.parametrize("limit", [-1, None, "10", 2.0])
def test_upgrade_history_bad_limit(kernel, limit):
    with pytest.raises(ValueError):
        library.get_upgrade_history(limit=limit)


def test_upgrade_stats(kernel):
    assert library.get_upgrade_stats() == {"total": 0, "srt_to_ass": 0}
    library.record_upgrade("/a", "srt", 1, "ass", 2)
    library.record_upgrade("/b", "srt", 1, "ass", 2)
    library.record_upgrade("/c", "SRT", 1, "ass", 2)  # exact, case-sensitive match (legacy)
    library.record_upgrade("/d", "ass", 1, "ass", 2)
    library.record_upgrade("/e", None, None, "ass", 2)
    stats = library.get_upgrade_stats()
    assert stats == {"total": 5, "srt_to_ass": 2} and list(stats) == ["total", "srt_to_ass"]


def test_library_stats_combines_both(kernel):
    add_download(kernel, fmt="srt")
    library.record_upgrade("/a", "srt", 1, "ass", 2)
    stats = library.get_library_stats()
    assert list(stats) == ["downloads", "upgrades"]
    assert stats == {"downloads": library.get_download_stats(), "upgrades": library.get_upgrade_stats()}
    assert stats["downloads"]["total_downloads"] == 1 and stats["upgrades"]["srt_to_ass"] == 1


# -- schema and migrations -------------------------------------------------------------------------

def test_baseline_reproduces_the_legacy_table(kernel):
    insp = reflect(kernel.engine)
    text_type = type_name(kernel.engine, Text())  # TEXT; LONGTEXT on MariaDB (its TEXT stops at 64 KiB)
    columns = insp.get_columns("upgrade_history")
    assert [c["name"] for c in columns] == UPGRADE_KEYS
    assert {c["name"]: str(c["type"]) for c in columns} == {
        name: text_type if name in ("file_path", "old_format", "new_format", "provider_name", "upgrade_reason",
                                 "upgraded_at") else "INTEGER" for name in UPGRADE_KEYS}
    assert {c["name"] for c in columns if not c["nullable"]} == {"id", "file_path", "upgraded_at"}
    assert {i["name"]: i["column_names"] for i in insp.get_indexes("upgrade_history")} == \
        {"idx_upgrade_history_path": ["file_path"]}
    if kernel.storage.name == "sqlite":
        with kernel.engine.connect() as conn:
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'upgrade_history'").scalar()
        assert "AUTOINCREMENT" in ddl


def test_migrations_round_trip(storage, empty_database):
    k = boot(empty_database(storage))
    try:
        assert k.migrator.current()["library"] == k.migrator.heads()["library"] == "library_0001"
        library.record_upgrade("/a", "srt", 1, "ass", 2)
        k.migrator.downgrade("base", domain="library")
        tables = inspect(k.engine).get_table_names()
        assert "upgrade_history" not in tables and "subtitle_downloads" in tables
        k.migrator.upgrade(domain="library")
        assert k.migrator.current()["library"] == "library_0001"
        assert library.get_upgrade_history() == []
        library.record_upgrade("/b", "srt", 1, "ass", 2)
        assert library.get_upgrade_stats() == {"total": 1, "srt_to_ass": 1}
    finally:
        k.close()


def test_baseline_matches_the_legacy_ddl_on_sqlite(empty_database):
    compared = compare_with_legacy(empty_database, ["upgrade_history"])  # every domain at head
    assert compared.ours == compared.legacy


def test_an_adopted_legacy_table_keeps_its_rows(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, ["upgrade_history"],
                         "INSERT INTO upgrade_history (file_path, old_format, old_score, new_format, new_score, "
                         "provider_name, upgrade_reason, upgraded_at) "
                         "VALUES ('/a.mkv', 'srt', 10, 'ass', 90, 'jimaku', '', '2025-01-01T00:00:00')")
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"library": "library_0001"})
        k.migrator.upgrade(domain="library")
        assert library.get_upgrade_stats() == {"total": 1, "srt_to_ass": 1}
        library.record_upgrade("/b.mkv", "srt", 1, "ass", 2)
        assert [r["id"] for r in library.get_upgrade_history()] == [2, 1]
    finally:
        k.close()
