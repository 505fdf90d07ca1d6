"""cache domain: ffprobe results, episode history, AniDB mappings, the provider-cache front."""

from __future__ import annotations

import math
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import delete, inspect, select, update

import sublarr.plugins.cache as cache
from sublarr.core.domain import is_or_extends
from sublarr.core.timeutil import fmt, parse, utcnow
from sublarr.plugins.cache import (
    cleanup_old_anidb_mappings,
    clear_ffprobe_cache,
    get_anidb_mapping,
    get_anidb_mapping_stats,
    get_cache_stats,
    get_cached_results,
    get_episode_history,
    get_ffprobe_cache,
    save_anidb_mapping,
    save_cache_results,
    set_ffprobe_cache,
)
from sublarr.plugins.cache.models import anidb_mappings as anidb
from sublarr.plugins.cache.models import ffprobe_cache as ffprobe
from sublarr.plugins.jobs.models import jobs
from sublarr.plugins.providers.models import subtitle_downloads as downloads
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, create_legacy_tables, describe, model_drift

HISTORY_KEYS = ["action", "provider_name", "format", "score", "date", "status", "error"]
TABLES = ["ffprobe_cache", "anidb_mappings"]


def select_all(kernel, table, order) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(order)).mappings()]


def execute(kernel, statement) -> None:
    with kernel.engine.begin() as conn:
        conn.execute(statement)


def days_ago(days: float) -> str:
    return fmt(utcnow() - timedelta(days=days))


# -- ffprobe ---------------------------------------------------------------------------------------

def test_ffprobe_round_trip_needs_the_exact_mtime(kernel):
    data = {"streams": [{"codec_type": "subtitle", "tags": {"language": "jpn", "title": "Ünï 字幕"}}],
            "format": {"duration": "1420.5"}}
    assert get_ffprobe_cache("/tv/a.mkv", 1700000000.123456) is None
    set_ffprobe_cache("/tv/a.mkv", 1700000000.123456, data)
    assert get_ffprobe_cache("/tv/a.mkv", 1700000000.123456) == data
    assert kernel.repo("cache").get_ffprobe_cache("/tv/a.mkv", 1700000000.123456) == data
    assert get_ffprobe_cache("/tv/a.mkv", math.nextafter(1700000000.123456, 2e9)) is None  # no tolerance
    assert get_ffprobe_cache("/tv/a.mkv", 1700000000) is None
    assert get_ffprobe_cache("/tv/A.mkv", 1700000000.123456) is None
    row = select_all(kernel, ffprobe, ffprobe.c.file_path)[0]
    assert list(row) == ["file_path", "mtime", "probe_data_json", "cached_at"]
    assert row["mtime"] == 1700000000.123456 and parse(row["cached_at"]) is not None


def test_integer_mtime_matches_its_float(kernel):
    set_ffprobe_cache("/tv/b.mkv", 1700000000, {"a": 1})
    assert get_ffprobe_cache("/tv/b.mkv", 1700000000.0) == {"a": 1}
    assert get_ffprobe_cache("/tv/b.mkv", 1700000000) == {"a": 1}


def test_set_replaces_the_entry(kernel):
    set_ffprobe_cache("/tv/a.mkv", 1.0, {"v": 1})
    set_ffprobe_cache("/tv/a.mkv", 2.0, {"v": 2})
    assert get_ffprobe_cache("/tv/a.mkv", 1.0) is None
    assert get_ffprobe_cache("/tv/a.mkv", 2.0) == {"v": 2}
    assert len(select_all(kernel, ffprobe, ffprobe.c.file_path)) == 1


def test_undecodable_stored_data_reads_as_none(kernel):
    set_ffprobe_cache("/tv/a.mkv", 1.0, {"v": 1})
    execute(kernel, update(ffprobe).values(probe_data_json="{not json"))
    assert get_ffprobe_cache("/tv/a.mkv", 1.0) is None
    execute(kernel, update(ffprobe).values(probe_data_json=""))
    assert get_ffprobe_cache("/tv/a.mkv", 1.0) is None


def test_any_json_value_round_trips(kernel):
    for i, data in enumerate([[1, "two"], "text", 3.5, None, {"deep": {"list": [{"x": "it's %_"}]}}]):
        set_ffprobe_cache(f"/tv/{i}.mkv", 1.0, data)
        assert get_ffprobe_cache(f"/tv/{i}.mkv", 1.0) == data


def test_clear_one_or_all(kernel):
    for name in "abc":
        set_ffprobe_cache(f"/tv/{name}.mkv", 1.0, {})
    assert clear_ffprobe_cache("/tv/a.mkv") is None
    clear_ffprobe_cache("/tv/missing.mkv")
    assert [r["file_path"] for r in select_all(kernel, ffprobe, ffprobe.c.file_path)] == ["/tv/b.mkv", "/tv/c.mkv"]
    clear_ffprobe_cache("")  # legacy truthiness: "" clears everything
    assert select_all(kernel, ffprobe, ffprobe.c.file_path) == []
    set_ffprobe_cache("/tv/a.mkv", 1.0, {})
    kernel.repo("cache").clear_ffprobe_cache()
    assert select_all(kernel, ffprobe, ffprobe.c.file_path) == []


@pytest.mark.parametrize("text_value", ["it's \"quoted\"", "/tv/100% _match_ \\ esc", "/tv/Ünïcödé 字幕 🎬.mkv"])
def test_ffprobe_strings_round_trip(kernel, text_value):
    data = {"title": text_value, "big": text_value * (10_240 // len(text_value) + 1)}
    set_ffprobe_cache(text_value, 1.5, data)
    assert get_ffprobe_cache(text_value, 1.5) == data
    clear_ffprobe_cache(text_value)
    assert get_ffprobe_cache(text_value, 1.5) is None


@pytest.mark.parametrize("args", [
    (None, 1.0, {}), ("", 1.0, {}), (5, 1.0, {}), ("/a", "1", {}), ("/a", None, {}), ("/a", True, {}),
    ("/a", float("nan"), {}), ("/a", float("inf"), {}), ("/a", 10**400, {}), ("/a", 1.0, object()),
    ("/a", 1.0, {"s": {1, 2}}), ("/a", 1.0, {1j: 1}),
])
def test_bad_ffprobe_input_raises_and_writes_nothing(kernel, args):
    with pytest.raises(ValueError):
        set_ffprobe_cache(*args)
    assert select_all(kernel, ffprobe, ffprobe.c.file_path) == []


@pytest.mark.parametrize("call", [
    lambda: get_ffprobe_cache(None, 1.0), lambda: get_ffprobe_cache("/a", "1.0"),
    lambda: get_ffprobe_cache("/a", float("nan")), lambda: clear_ffprobe_cache(5),
])
def test_bad_ffprobe_lookups_raise(kernel, call):
    set_ffprobe_cache("/a", 1.0, {})
    with pytest.raises(ValueError):
        call()
    assert len(select_all(kernel, ffprobe, ffprobe.c.file_path)) == 1


# -- episode history -------------------------------------------------------------------------------

def add_download(kernel, file_path, when, provider="opensubtitles", fmt_="ass", score=300):
    execute(kernel, downloads.insert().values(provider_name=provider, subtitle_id="s", language="de",
                                              format=fmt_, file_path=file_path, score=score, downloaded_at=when))


def add_job(kernel, file_path, when, status="completed", source_format="srt", error="", job_id=None):
    execute(kernel, jobs.insert().values(id=job_id or uuid.uuid4().hex[:8],
                                         file_path=file_path, status=status, source_format=source_format,
                                         error=error, created_at=when))


def test_history_merges_downloads_and_jobs_newest_first(kernel):
    add_download(kernel, "/tv/Show/Ep 1.de.ass", "2024-01-03T00:00:00.000000", score=320)
    add_job(kernel, "/tv/Show/Ep 1.mkv", "2024-01-04T00:00:00.000000", status="failed", error="boom")
    add_download(kernel, "/tv/Show/Ep 1.mkv", "2024-01-01T00:00:00.000000", provider="subdl", fmt_="srt")
    add_job(kernel, "/tv/Show/Ep 1.mkv", "2024-01-02T00:00:00.000000", source_format=None, error=None)
    history = get_episode_history("/tv/Show/Ep 1.mkv")
    assert [list(e) for e in history] == [HISTORY_KEYS] * 4
    assert history == [
        {"action": "translate", "provider_name": "", "format": "srt", "score": 0,
         "date": "2024-01-04T00:00:00.000000", "status": "failed", "error": "boom"},
        {"action": "download", "provider_name": "opensubtitles", "format": "ass", "score": 320,
         "date": "2024-01-03T00:00:00.000000", "status": "completed", "error": ""},
        {"action": "translate", "provider_name": "", "format": "", "score": 0,
         "date": "2024-01-02T00:00:00.000000", "status": "completed", "error": ""},
        {"action": "download", "provider_name": "subdl", "format": "srt", "score": 300,
         "date": "2024-01-01T00:00:00.000000", "status": "completed", "error": ""},
    ]
    assert kernel.repo("cache").get_episode_history("/tv/Show/Ep 1.de.ass")[0]["score"] == 320


def test_downloads_win_ties_and_keep_format_as_stored(kernel):
    when = "2024-01-01T00:00:00.000000"
    add_job(kernel, "/tv/Ep 1.mkv", when)
    add_download(kernel, "/tv/Ep 1.mkv", when, fmt_=None)
    history = get_episode_history("/tv/Ep 1.mkv")
    assert [e["action"] for e in history] == ["download", "translate"]
    assert history[0]["format"] is None


def test_history_uses_the_providers_and_jobs_functions(kernel):
    kernel.repo("providers").record_subtitle_download("subdl", "42", "de", "srt", "/tv/Ep 2.de.srt", 250)
    job = kernel.repo("jobs").create_job("/tv/Ep 2.mkv")
    history = get_episode_history("/tv/Ep 2.mkv")
    assert {(e["action"], e["status"]) for e in history} == {("download", "completed"), ("translate", "queued")}
    assert next(e for e in history if e["action"] == "translate")["date"] == job["created_at"]


def test_ep_1_does_not_match_ep_10(kernel):
    # legacy LIKE '/tv/Show/Ep 1%' also listed Ep 10, Ep 11, ... and 'EP 1' (case-insensitive)
    for path in ["/tv/Show/Ep 10.mkv", "/tv/Show/Ep 1x.de.srt", "/tv/Show/EP 1.mkv", "/tv/Show/ep 1.mkv",
                 "/tv/Show/Ep 1"]:
        add_download(kernel, path, "2024-01-01T00:00:00.000000", provider=path)
    add_download(kernel, "/tv/Show/Ep 1.mkv", "2024-01-02T00:00:00.000000", provider="video")
    add_download(kernel, "/tv/Show/Ep 1.en.forced.ass", "2024-01-03T00:00:00.000000", provider="subtitle")
    assert [e["provider_name"] for e in get_episode_history("/tv/Show/Ep 1.mkv")] == \
        ["subtitle", "video", "/tv/Show/Ep 1"]


def test_wildcards_in_the_path_match_literally(kernel):
    add_download(kernel, "/tv/100%_done/Ep 1.mkv", "2024-01-01T00:00:00.000000", provider="literal")
    add_download(kernel, "/tv/100XXdone/Ep 1.mkv", "2024-01-01T00:00:00.000000", provider="wildcard")
    add_download(kernel, "/tv/100%_done/Ep 1.mkv.bak\\x", "2024-01-01T00:00:00.000000", provider="backslash")
    # equal dates: newest row first
    assert [e["provider_name"] for e in get_episode_history("/tv/100%_done/Ep 1.mkv")] == ["backslash", "literal"]


def test_a_dotted_folder_is_not_an_extension(kernel):
    # legacy cut "/tv/Show.v2/Ep 1" to "/tv/Show" and listed every file below /tv/Show*
    add_download(kernel, "/tv/Show.v2/Ep 1", "2024-01-01T00:00:00.000000", provider="same")
    add_download(kernel, "/tv/Show.v2/Ep 1.de.srt", "2024-01-02T00:00:00.000000", provider="subtitle")
    add_download(kernel, "/tv/Show.v2/Ep 2.mkv", "2024-01-03T00:00:00.000000", provider="sibling")
    add_download(kernel, "/tv/Show.v3/Ep 1.mkv", "2024-01-04T00:00:00.000000", provider="other folder")
    assert [e["provider_name"] for e in get_episode_history("/tv/Show.v2/Ep 1")] == ["subtitle", "same"]
    # Windows paths (a remote Sonarr) split at backslashes too
    add_download(kernel, "C:\\tv\\Show.v2\\Ep 1.de.srt", "2024-01-05T00:00:00.000000", provider="windows")
    add_download(kernel, "C:\\tv\\Show.v2\\Ep 2.mkv", "2024-01-06T00:00:00.000000", provider="windows sibling")
    assert [e["provider_name"] for e in get_episode_history("C:\\tv\\Show.v2\\Ep 1")] == ["windows"]


def test_unicode_paths_match_by_code_point(kernel):
    add_download(kernel, "/tv/Ünï 字幕/Ep 1.de.srt", "2024-01-02T00:00:00.000000", provider="match")
    add_download(kernel, "/tv/Ünï 字幕/Ep 1.\U0010ffff", "2024-01-01T00:00:00.000000", provider="highest")
    add_download(kernel, "/tv/ünï 字幕/Ep 1.de.srt", "2024-01-03T00:00:00.000000", provider="lower case")
    add_download(kernel, "/tv/Ünï 字幕/Ep 1/x.srt", "2024-01-04T00:00:00.000000", provider="folder")
    assert [e["provider_name"] for e in get_episode_history("/tv/Ünï 字幕/Ep 1.mkv")] == ["match", "highest"]


def test_sqlite_history_lookup_uses_the_path_index(empty_database):
    # SQLite text is byte-ordered, so the prefix is an index range (no full scan at 100k rows), in both
    # lookups the history makes through the providers' and the jobs' repositories
    k = boot(empty_database("sqlite"))
    try:
        for table, index in ((downloads, "idx_subtitle_downloads_path"), (jobs, "idx_jobs_file_path")):
            same_media = is_or_extends(table.c.file_path, "/tv/Ep 1", ".", binary_text=k.storage.features.binary_text)
            with k.engine.connect() as conn:
                compiled = select(table.c.id).where(same_media).compile(conn, compile_kwargs={"literal_binds": True})
                plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert index in plan and f"SCAN {table.name}" not in plan, plan
    finally:
        k.close()


def test_history_is_capped_at_50(kernel):
    for i in range(60):
        add_download(kernel, "/tv/Ep 1.mkv", f"2024-01-01T00:00:{i:02d}.000000", score=i)
        add_job(kernel, "/tv/Ep 1.mkv", f"2024-01-01T00:01:{i:02d}.000000", job_id=f"job{i:05d}")
    history = get_episode_history("/tv/Ep 1.mkv")
    assert len(history) == cache.HISTORY_LIMIT == 50
    assert all(e["action"] == "translate" for e in history)
    assert history[0]["date"] == "2024-01-01T00:01:59.000000"
    assert history[-1]["date"] == "2024-01-01T00:01:10.000000"


def test_history_of_an_unknown_file_is_empty(kernel):
    add_download(kernel, "/tv/other.mkv", "2024-01-01T00:00:00.000000")
    assert get_episode_history("/tv/none.mkv") == []


@pytest.mark.parametrize("value", [None, "", 5, b"/tv/a.mkv"])
def test_bad_history_path_raises(kernel, value):
    with pytest.raises(ValueError):
        get_episode_history(value)


# -- AniDB mappings --------------------------------------------------------------------------------

def anidb_rows(kernel) -> list[dict]:
    return select_all(kernel, anidb, anidb.c.tvdb_id)


def test_save_and_get_mapping(kernel):
    assert get_anidb_mapping(81797) is None
    save_anidb_mapping(81797, 69, "One Piece")
    kernel.repo("cache").save_anidb_mapping(1, 2)
    assert get_anidb_mapping(81797) == 69
    assert kernel.repo("cache").get_anidb_mapping(1) == 2
    rows = anidb_rows(kernel)
    assert list(rows[0]) == ["tvdb_id", "anidb_id", "series_title", "created_at", "last_used"]
    assert rows[0]["series_title"] == "" and rows[1]["series_title"] == "One Piece"
    assert parse(rows[1]["created_at"]) is not None


def test_save_again_keeps_created_at(kernel):
    save_anidb_mapping(1, 10, "old")
    execute(kernel, update(anidb).values(created_at="2020-01-01T00:00:00.000000",
                                         last_used="2020-01-01T00:00:00.000000"))
    save_anidb_mapping(1, 11, "new")
    row = anidb_rows(kernel)[0]
    assert (row["anidb_id"], row["series_title"], row["created_at"]) == (11, "new", "2020-01-01T00:00:00.000000")
    assert row["last_used"] > "2024"
    save_anidb_mapping(1, 12, None)
    assert anidb_rows(kernel)[0]["series_title"] is None


def test_a_hit_touches_last_used(kernel):
    save_anidb_mapping(1, 10)
    execute(kernel, update(anidb).values(last_used=days_ago(20)))
    assert get_anidb_mapping(1) == 10
    assert parse(anidb_rows(kernel)[0]["last_used"]) > utcnow() - timedelta(minutes=1)


def test_sliding_ttl_expires_unused_entries_without_deleting_them(kernel):
    save_anidb_mapping(1, 10)
    save_anidb_mapping(2, 20)
    stale = days_ago(31.1)  # (now - last_used).days == 31 > 30
    execute(kernel, update(anidb).where(anidb.c.tvdb_id == 1).values(last_used=stale))
    execute(kernel, update(anidb).where(anidb.c.tvdb_id == 2).values(last_used=days_ago(30.9)))
    assert get_anidb_mapping(1) is None
    assert get_anidb_mapping(2) == 20  # 30 whole days is not more than the TTL of 30
    rows = anidb_rows(kernel)
    assert len(rows) == 2 and rows[0]["last_used"] == stale  # kept and not touched


def test_unreadable_last_used_counts_as_expired(kernel):
    save_anidb_mapping(1, 10)
    save_anidb_mapping(2, 20)
    save_anidb_mapping(3, 30)
    execute(kernel, update(anidb).where(anidb.c.tvdb_id == 1).values(last_used="yesterday"))
    execute(kernel, update(anidb).where(anidb.c.tvdb_id == 2).values(last_used=None))
    legacy = fmt(utcnow() - timedelta(days=1)).replace("T", " ")[:19]  # CURRENT_TIMESTAMP format
    execute(kernel, update(anidb).where(anidb.c.tvdb_id == 3).values(last_used=legacy))
    assert get_anidb_mapping(1) is None and get_anidb_mapping(2) is None
    assert get_anidb_mapping(3) == 30


@pytest.mark.parametrize("ttl", [0, -5])
def test_ttl_zero_or_less_disables_expiry(make_kernel, ttl):
    k = make_kernel(anidb_cache_ttl_days=ttl)
    repo = k.repo("cache")
    repo.save_anidb_mapping(1, 10)
    repo.save_anidb_mapping(2, 20)
    execute(k, update(anidb).where(anidb.c.tvdb_id == 1).values(last_used=days_ago(3650)))
    execute(k, update(anidb).where(anidb.c.tvdb_id == 2).values(last_used="garbage"))
    assert repo.get_anidb_mapping(1) == 10 and repo.get_anidb_mapping(2) == 20
    assert all(parse(r["last_used"]) > utcnow() - timedelta(minutes=1) for r in anidb_rows(k))


def test_ttl_setting_is_read_from_the_kernel(make_kernel):
    k = make_kernel(anidb_cache_ttl_days=2)
    k.repo("cache").save_anidb_mapping(1, 10)
    execute(k, update(anidb).values(last_used=days_ago(3.5)))
    assert k.repo("cache").get_anidb_mapping(1) is None


def test_cleanup_deletes_only_unused_rows(kernel):
    for tvdb_id, last_used in [(1, days_ago(100)), (2, days_ago(89)), (3, None), (4, days_ago(91))]:
        save_anidb_mapping(tvdb_id, tvdb_id * 10)
        execute(kernel, update(anidb).where(anidb.c.tvdb_id == tvdb_id).values(last_used=last_used))
    assert cleanup_old_anidb_mappings() == 2
    assert [r["tvdb_id"] for r in anidb_rows(kernel)] == [2, 3]  # NULL last_used is kept
    assert kernel.repo("cache").cleanup_old_anidb_mappings(days=10) == 1
    assert cleanup_old_anidb_mappings(0) == 0
    assert [r["tvdb_id"] for r in anidb_rows(kernel)] == [3]


@pytest.mark.parametrize("days", [-1, None, "90", 9.5, True])
def test_cleanup_needs_a_whole_number_of_days(kernel, days):
    save_anidb_mapping(1, 10)
    with pytest.raises(ValueError):
        cleanup_old_anidb_mappings(days)
    assert len(anidb_rows(kernel)) == 1


def test_mapping_stats(kernel):
    assert get_anidb_mapping_stats() == {"total_mappings": 0, "oldest_entry": None, "newest_entry": None}
    for tvdb_id, created in [(1, "2023-05-01T00:00:00.000000"), (2, "2021-01-01T00:00:00.000000"),
                             (3, "2024-02-02T00:00:00.000000"), (4, None)]:
        save_anidb_mapping(tvdb_id, tvdb_id)
        execute(kernel, update(anidb).where(anidb.c.tvdb_id == tvdb_id).values(created_at=created))
    assert get_anidb_mapping_stats() == {"total_mappings": 4, "oldest_entry": "2021-01-01T00:00:00.000000",
                                         "newest_entry": "2024-02-02T00:00:00.000000"}


@pytest.mark.parametrize("args", [
    ("1", 2), (None, 2), (True, 2), (1.0, 2), (1, None), (1, "2"), (1, 2**63), (1, 2, 5), (1, 2, "a\x00"),
])
def test_bad_mapping_input_raises_and_writes_nothing(kernel, args):
    with pytest.raises(ValueError):
        save_anidb_mapping(*args)
    assert anidb_rows(kernel) == []


@pytest.mark.parametrize("tvdb_id", ["1", None, 1.5, False])
def test_bad_mapping_lookup_raises(kernel, tvdb_id):
    with pytest.raises(ValueError):
        get_anidb_mapping(tvdb_id)


@pytest.mark.parametrize("title", ["it's \"quoted\"", "100% _match_ \\ esc", "Ünïcödé 字幕 🎬", "t" * 10_240])
def test_series_title_round_trips(kernel, title):
    save_anidb_mapping(5, 6, title)
    assert anidb_rows(kernel)[0]["series_title"] == title


def test_concurrent_reads_and_saves_of_one_mapping(kernel):
    save_anidb_mapping(1, 10, "first")
    created = anidb_rows(kernel)[0]["created_at"]
    start = threading.Barrier(8)

    def work(worker):
        start.wait()
        found = set()
        for i in range(60):
            if i % 3 == 0:
                save_anidb_mapping(1, 10, f"w{worker}")
            found.add(get_anidb_mapping(1))
        return found

    with ThreadPoolExecutor(8) as pool:
        seen = set().union(*pool.map(work, range(8)))
    assert seen == {10}
    rows = anidb_rows(kernel)
    assert len(rows) == 1 and rows[0]["created_at"] == created


# -- provider cache front and stats ----------------------------------------------------------------

def test_provider_cache_front_is_the_providers_implementation(kernel):
    assert get_cached_results("combined", "abc") is None
    save_cache_results("combined", "abc", '[{"id": 1}]')
    assert get_cached_results("combined", "abc") == '[{"id": 1}]'
    assert kernel.repo("providers").get_cached_results("combined", "abc") == '[{"id": 1}]'
    kernel.repo("providers").cache_provider_results("combined", "abc", "[]", ttl_hours=1)
    assert kernel.repo("cache").get_cached_results("combined", "abc") == "[]"
    kernel.repo("cache").save_cache_results("combined", "old", "[]", ttl_hours=0)
    assert get_cached_results("combined", "old") is None  # expired at once
    with pytest.raises(ValueError):
        save_cache_results(None, "abc", "[]")
    assert kernel.repo("providers").get_provider_cache_stats() == {"combined": {"total": 2, "active": 1}}


def test_cache_stats(kernel):
    assert get_cache_stats() == {
        "ffprobe": {"total": 0},
        "anidb": {"total_mappings": 0, "oldest_entry": None, "newest_entry": None},
        "provider_cache": {},
    }
    set_ffprobe_cache("/a", 1.0, {})
    set_ffprobe_cache("/b", 1.0, {})
    save_anidb_mapping(1, 2)
    save_cache_results("subdl", "h", "[]", ttl_hours=1)
    stats = kernel.repo("cache").get_cache_stats()
    assert list(stats) == ["ffprobe", "anidb", "provider_cache"]
    assert stats["ffprobe"] == {"total": 2}
    assert stats["anidb"] == get_anidb_mapping_stats() and stats["anidb"]["total_mappings"] == 1
    assert stats["provider_cache"] == {"subdl": {"total": 1, "active": 1}}


def test_package_exports():
    assert {"get_ffprobe_cache", "set_ffprobe_cache", "clear_ffprobe_cache", "get_episode_history",
            "get_anidb_mapping", "save_anidb_mapping", "cleanup_old_anidb_mappings", "get_anidb_mapping_stats",
            "get_cached_results", "save_cache_results", "get_cache_stats", "HISTORY_LIMIT"} == set(cache.__all__)


# -- migrations ------------------------------------------------------------------------------------

def test_sqlite_baseline_reproduces_the_legacy_tables(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, "cache", "cache_0001")
    assert compared.ours == compared.legacy


def test_postgresql_baseline_has_the_legacy_columns(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "cache", "cache_0001").close()
    assert [c[:3] for c in describe(url, "ffprobe_cache")["columns"]] == [
        ("file_path", "TEXT", False), ("mtime", "DOUBLE PRECISION", False),
        ("probe_data_json", "TEXT", False), ("cached_at", "TEXT", False)]
    mappings = describe(url, "anidb_mappings")
    assert [c[:3] for c in mappings["columns"]] == [
        ("tvdb_id", "INTEGER", False), ("anidb_id", "INTEGER", False), ("series_title", "TEXT", True),
        ("created_at", "TEXT", True), ("last_used", "TEXT", True)]
    assert mappings["columns"][0][3] is None  # a given id, not a sequence
    assert "to_char" in mappings["columns"][3][3] and "to_char" in mappings["columns"][4][3]
    assert mappings["indexes"] == [("idx_anidb_mappings_anidb_id", ["anidb_id"], False)]
    assert describe(url, "ffprobe_cache")["indexes"] == [("idx_ffprobe_cache_mtime", ["mtime"], False)]


def test_server_defaults_give_the_legacy_timestamp_text(kernel):
    execute(kernel, anidb.insert().values(tvdb_id=7, anidb_id=8))
    row = anidb_rows(kernel)[0]
    assert row["created_at"] == row["last_used"] and len(row["created_at"]) == 19 and row["created_at"][10] == " "
    assert get_anidb_mapping(7) == 8  # the legacy format parses


def test_models_match_the_migrated_schema(kernel):
    assert model_drift(kernel, TABLES) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    k = boot(empty_database(dialect))
    try:
        assert k.migrator.current()["cache"] == k.migrator.heads()["cache"] == "cache_0001"
        set_ffprobe_cache("/a", 1.0, {})
        save_anidb_mapping(1, 2)
        add_download(k, "/tv/Ep 1.mkv", "2024-01-01T00:00:00.000000")
        k.migrator.downgrade("base", domain="cache")
        tables = set(inspect(k.engine).get_table_names())
        assert not {"ffprobe_cache", "anidb_mappings"} & tables
        assert {"subtitle_downloads", "jobs"} <= tables  # other domains' tables are untouched
        k.migrator.upgrade(domain="cache")
        assert k.migrator.current()["cache"] == "cache_0001"
        assert get_cache_stats()["ffprobe"] == {"total": 0} and get_anidb_mapping(1) is None
        assert len(get_episode_history("/tv/Ep 1.mkv")) == 1
    finally:
        k.close()


def test_legacy_sqlite_tables_are_adopted_with_their_rows(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, TABLES,
                         "INSERT INTO anidb_mappings (tvdb_id, anidb_id, series_title) VALUES (81797, 69, 'OP')",
                         "INSERT INTO ffprobe_cache VALUES ('/tv/a.mkv', 12.5, '{\"a\": 1}', '2024-01-01T00:00:00')")
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"cache": "cache_0001"})
        k.migrator.upgrade(domain="cache")
        assert get_anidb_mapping(81797) == 69  # CURRENT_TIMESTAMP 'YYYY-MM-DD HH:MM:SS' parses
        assert get_ffprobe_cache("/tv/a.mkv", 12.5) == {"a": 1}
        assert get_anidb_mapping_stats()["total_mappings"] == 1
        with k.engine.begin() as conn:
            conn.execute(delete(anidb))
    finally:
        k.close()
