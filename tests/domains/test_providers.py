"""providers domain: cache, download history, statistics without lost updates, auto-disable, migrations."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, insert, inspect, select, update

from sublarr.core.timeutil import iso_in, now_iso, parse, utcnow
from sublarr.plugins import providers
from sublarr.plugins.providers import (
    auto_disable_provider,
    cache_provider_results,
    cleanup_expired_cache,
    clear_auto_disable,
    clear_provider_cache,
    get_cached_results,
    get_provider_cache_stats,
    get_provider_download_stats,
    get_provider_health_history,
    get_provider_stats,
    get_provider_success_rate,
    is_provider_auto_disabled,
    record_subtitle_download,
    update_provider_stats,
)
from sublarr.plugins.providers.models import provider_cache as cache
from sublarr.plugins.providers.models import provider_stats as stats
from sublarr.plugins.providers.models import subtitle_downloads as downloads
from sublarr.plugins.providers.repository import ProvidersRepository
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, create_legacy_tables, describe, model_drift

STATS_KEYS = ["provider_name", "total_searches", "successful_downloads", "failed_downloads", "avg_score",
              "last_success_at", "last_failure_at", "consecutive_failures", "avg_response_time_ms",
              "last_response_time_ms", "auto_disabled", "disabled_until", "updated_at"]
HEALTH_KEYS = ["provider_name", "total_searches", "successful_downloads", "failed_downloads",
               "avg_response_time_ms", "updated_at"]
DOWNLOAD_KEYS = ["id", "provider_name", "subtitle_id", "language", "format", "file_path", "score",
                 "downloaded_at", "subtitle_type"]
TRICKY = ["it's \"quoted\"", "100%_done\\", "日本語 – ünïcödé 🎬", "x" * 1200]  # indexed (composite) keys: <= 2600 bytes together


def rows(kernel, table) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()]


def set_stats(kernel, provider_name: str, **values) -> None:
    with kernel.engine.begin() as conn:
        conn.execute(update(stats).where(stats.c.provider_name == provider_name).values(**values))


def minutes_from_now(timestamp: str) -> float:
    return (parse(timestamp) - utcnow()).total_seconds() / 60


# -- search cache --------------------------------------------------------------------------------------

def test_cache_round_trip(kernel):
    assert cache_provider_results("combined", "abc", '[{"id": 1}]') is None
    assert get_cached_results("combined", "abc") == '[{"id": 1}]'
    assert get_cached_results("combined", "other") is None
    assert get_cached_results("opensubtitles", "abc") is None
    (row,) = rows(kernel, cache)
    assert list(row) == ["id", "provider_name", "query_hash", "results_json", "cached_at", "expires_at"]
    assert 359 < minutes_from_now(row["expires_at"]) <= 360  # default ttl_hours=6


def test_caching_a_query_again_replaces_its_entry(kernel):
    # legacy: every call inserted another row
    for n in range(5):
        cache_provider_results("combined", "abc", f"[{n}]", ttl_hours=1)
    assert get_cached_results("combined", "abc") == "[4]"
    (row,) = rows(kernel, cache)
    assert row["results_json"] == "[4]"
    assert get_provider_cache_stats() == {"combined": {"total": 1, "active": 1}}


def test_replacing_an_expired_entry_revives_it(kernel):
    cache_provider_results("p", "h", "old", ttl_hours=0)
    assert get_cached_results("p", "h") is None
    cache_provider_results("p", "h", "new", ttl_hours=0.5)
    assert get_cached_results("p", "h") == "new"


def test_fractional_ttl_as_the_legacy_caller_passed(kernel):
    cache_provider_results("combined", "h", "[]", ttl_hours=5 / 60)  # provider_cache_ttl_minutes / 60
    assert 4.9 < minutes_from_now(rows(kernel, cache)[0]["expires_at"]) <= 5


def test_save_cache_results_is_the_same_implementation(kernel):
    assert ProvidersRepository.save_cache_results is ProvidersRepository.cache_provider_results
    kernel.repo("providers").save_cache_results("p", "h", "[1]", ttl_hours=1)
    providers.save_cache_results("p", "h", "[2]")
    assert kernel.repo("providers").get_cached_results("p", "h") == "[2]"
    assert len(rows(kernel, cache)) == 1


def test_cache_stats_cleanup_and_clear(kernel):
    cache_provider_results("a", "1", "[]")
    cache_provider_results("a", "2", "[]", ttl_hours=0)
    cache_provider_results("b_%", "1", "[]")
    cache_provider_results("bx", "1", "[]")
    assert get_provider_cache_stats() == {"a": {"total": 2, "active": 1}, "b_%": {"total": 1, "active": 1},
                                          "bx": {"total": 1, "active": 1}}
    assert cleanup_expired_cache() == 1
    assert get_provider_cache_stats()["a"] == {"total": 1, "active": 1}
    assert clear_provider_cache("b_%") == 1  # literal name: "bx" stays
    assert sorted(get_provider_cache_stats()) == ["a", "bx"]
    assert clear_provider_cache("") == 2  # '' means all, as the legacy truthiness test did
    assert get_provider_cache_stats() == {}
    assert clear_provider_cache() == 0 and cleanup_expired_cache() == 0


@pytest.mark.parametrize("value", TRICKY)
def test_cache_strings_round_trip(kernel, value):
    cache_provider_results(value, value, value)
    assert get_cached_results(value, value) == value
    assert get_cached_results(value.upper() + "?", value) is None


def test_racing_cache_writes_of_one_key_leave_one_entry(kernel):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: cache_provider_results("combined", "same", f"[{n}]"), range(200)))
    assert len(rows(kernel, cache)) == 1


@pytest.mark.parametrize("args, kwargs", [
    ((None, "h", "[]"), {}), (("", "h", "[]"), {}), (("p", None, "[]"), {}), (("p", "h", None), {}),
    (("p", "h", b"[]"), {}), (("p", "h", "[]"), {"ttl_hours": -1}), (("p", "h", "[]"), {"ttl_hours": "6"}),
    (("p", "h", "[]"), {"ttl_hours": math.inf}), (("p", "h", "[]"), {"ttl_hours": True}),
    (("p", "h", "[]"), {"ttl_hours": 1e12}),
])
def test_bad_cache_input_raises_and_writes_nothing(kernel, args, kwargs):
    with pytest.raises(ValueError):
        cache_provider_results(*args, **kwargs)
    assert rows(kernel, cache) == []


# -- download history ----------------------------------------------------------------------------------

def test_record_subtitle_download_stores_the_row(kernel):
    first = record_subtitle_download("opensubtitles", "42", "de", "ass", "/tv/a.mkv", 91)
    second = kernel.repo("providers").record_subtitle_download("subdl", "7", "en", "", "/tv/b.mkv", 0)
    assert isinstance(first, int) and second > first
    stored = rows(kernel, downloads)
    assert list(stored[0]) == DOWNLOAD_KEYS
    assert stored[0] | {"downloaded_at": None} == {
        "id": first, "provider_name": "opensubtitles", "subtitle_id": "42", "language": "de", "format": "ass",
        "file_path": "/tv/a.mkv", "score": 91, "downloaded_at": None, "subtitle_type": "full"}
    assert len(stored[0]["downloaded_at"]) == 26


def test_download_stats_per_provider_and_format(kernel):
    for provider, fmt in [("a", "ass"), ("a", "ass"), ("a", "srt"), ("a", ""), ("b", "srt")]:
        record_subtitle_download(provider, "s", "de", fmt, "/f", 1)
    with kernel.engine.begin() as conn:  # a NULL format, which the legacy DDL allowed
        conn.execute(insert(downloads).values(provider_name="a", subtitle_id="s", language="de", format=None,
                                              file_path="/f", downloaded_at=now_iso()))
    assert get_provider_download_stats() == {
        # '' and NULL are summed (legacy: one overwrote the other, so by_format did not add up)
        "a": {"total": 5, "by_format": {"ass": 2, "srt": 1, "unknown": 2}},
        "b": {"total": 1, "by_format": {"srt": 1}},
    }


def test_download_stats_empty(kernel):
    assert get_provider_download_stats() == {}


@pytest.mark.parametrize("args", [
    (None, "s", "de", "ass", "/f", 1), ("p", None, "de", "ass", "/f", 1), ("p", "s", "de", 3, "/f", 1),
    ("p", "s", "de", "ass", "/f", "1"), ("p", "s", "de", "ass", "/f", 1.5), ("p", "s", "de", "ass", None, 1),
])
def test_bad_download_input_raises_and_writes_nothing(kernel, args):
    with pytest.raises(ValueError):
        record_subtitle_download(*args)
    assert rows(kernel, downloads) == []


# -- statistics ----------------------------------------------------------------------------------------

def test_first_successful_search_with_download_creates_the_legacy_row(kernel):
    update_provider_stats("opensubtitles", True, score=80, response_time_ms=120.5)
    row = get_provider_stats("opensubtitles")
    assert list(row) == STATS_KEYS
    assert row | {"last_success_at": None, "updated_at": None} == {
        "provider_name": "opensubtitles", "total_searches": 1, "successful_downloads": 1, "failed_downloads": 0,
        "avg_score": 80.0, "last_success_at": None, "last_failure_at": None, "consecutive_failures": 0,
        "avg_response_time_ms": 120.5, "last_response_time_ms": 120.5, "auto_disabled": 0, "disabled_until": "",
        "updated_at": None}
    assert row["last_success_at"] == row["updated_at"] and len(row["updated_at"]) == 26


def test_update_provider_stats_follows_the_legacy_formulas(kernel):
    update_provider_stats("p", True, 100, 100)
    update_provider_stats("p", True, 0, 200)  # a search with results: a success without a score
    update_provider_stats("p", True, 50)
    update_provider_stats("p", False, response_time_ms=300)
    update_provider_stats("p", False)
    row = get_provider_stats("p")
    assert (row["total_searches"], row["successful_downloads"], row["failed_downloads"]) == (5, 3, 2)
    # avg_score: 100, then unchanged by score 0 (but the count grows), then (100*2 + 50) / 3
    assert row["avg_score"] == pytest.approx(250 / 3)
    # response times: 100, (100*1+200)/2 = 150, untimed search, (150*3 + 300)/4 = 187.5
    assert row["avg_response_time_ms"] == 187.5 and row["last_response_time_ms"] == 300
    assert row["consecutive_failures"] == 2
    assert row["last_failure_at"] > row["last_success_at"]


def test_a_success_resets_consecutive_failures(kernel):
    for _ in range(3):
        update_provider_stats("p", False)
    assert get_provider_stats("p")["consecutive_failures"] == 3
    update_provider_stats("p", True)
    assert get_provider_stats("p")["consecutive_failures"] == 0


def test_split_repository_api(kernel):
    repo = kernel.repo("providers")
    repo.record_search("p", True, 10)
    assert (get_provider_stats("p")["total_searches"], get_provider_stats("p")["successful_downloads"]) == (1, 0)
    repo.record_search("p", False)
    repo.record_download_failure("p")
    row = get_provider_stats("p")
    assert (row["failed_downloads"], row["consecutive_failures"]) == (2, 2)
    repo.record_download("p", 90)
    repo.record_download("p", 70)
    row = get_provider_stats("p")
    assert (row["successful_downloads"], row["avg_score"], row["consecutive_failures"]) == (2, 80.0, 0)
    repo.record_download("fresh", 55)
    repo.record_download_failure("fresh2")
    assert get_provider_stats("fresh") | {"last_success_at": None, "updated_at": None} == {
        "provider_name": "fresh", "total_searches": 0, "successful_downloads": 1, "failed_downloads": 0,
        "avg_score": 55.0, "last_success_at": None, "last_failure_at": None, "consecutive_failures": 0,
        "avg_response_time_ms": 0.0, "last_response_time_ms": 0.0, "auto_disabled": 0, "disabled_until": "",
        "updated_at": None}
    assert (get_provider_stats("fresh2")["failed_downloads"], get_provider_stats("fresh2")["total_searches"]) == (1, 0)
    # the first timed search after downloads: n = 0 searches before, so the average is the time itself
    repo.record_search("fresh", True, 40)
    assert get_provider_stats("fresh")["avg_response_time_ms"] == 40.0


def test_null_counters_of_old_rows_count_as_zero(kernel):
    update_provider_stats("p", False)
    set_stats(kernel, "p", total_searches=None, failed_downloads=None, consecutive_failures=None,
              avg_response_time_ms=None)
    update_provider_stats("p", False, response_time_ms=50)
    row = get_provider_stats("p")
    assert (row["total_searches"], row["failed_downloads"], row["consecutive_failures"],
            row["avg_response_time_ms"]) == (1, 1, 1, 50.0)


def test_get_provider_stats_shapes(kernel):
    assert get_provider_stats("missing") == {}
    assert get_provider_stats() == {}
    update_provider_stats("b", True)
    update_provider_stats("a", False)
    everything = get_provider_stats()
    assert list(everything) == ["a", "b"] and everything["a"] == get_provider_stats("a")
    assert get_provider_stats("") == everything  # legacy truthiness
    repo = kernel.repo("providers")
    assert repo.get_all_provider_stats() == [everything["a"], everything["b"]]
    assert repo.clear_provider_stats("a") is True and repo.clear_provider_stats("a") is False
    assert list(get_provider_stats()) == ["b"]


def test_success_rate(kernel):
    assert get_provider_success_rate("missing") == 0.0
    kernel.repo("providers").record_download("downloads-only", 50)  # no searches: 0.0, not a division error
    assert get_provider_success_rate("downloads-only") == 0.0
    for ok in (True, True, True, False):
        update_provider_stats("p", ok)
    assert get_provider_success_rate("p") == 0.75
    kernel.repo("providers").record_download("p", 1)
    kernel.repo("providers").record_download("p", 1)
    assert get_provider_success_rate("p") == 1.0  # 5 downloads / 4 searches is capped


def test_health_history_is_the_legacy_snapshot(kernel):
    update_provider_stats("old", True, response_time_ms=5)
    update_provider_stats("a", True, response_time_ms=10)
    update_provider_stats("b", False)
    set_stats(kernel, "old", updated_at=iso_in(days=-8))
    set_stats(kernel, "a", updated_at=iso_in(days=-1))
    history = get_provider_health_history()
    assert [h["provider_name"] for h in history] == ["b", "a"]  # most recently updated first
    assert all(list(h) == HEALTH_KEYS for h in history)
    assert history[1] | {"updated_at": None} == {"provider_name": "a", "total_searches": 1,
                                                  "successful_downloads": 1, "failed_downloads": 0,
                                                  "avg_response_time_ms": 10.0, "updated_at": None}
    assert [h["provider_name"] for h in get_provider_health_history(days=30)] == ["b", "a", "old"]
    assert [h["provider_name"] for h in get_provider_health_history("a")] == ["a"]
    assert get_provider_health_history("old") == []
    assert get_provider_health_history("", days=0) == []  # a zero-day window ends now


@pytest.mark.parametrize("call", [
    lambda: update_provider_stats(None, True),
    lambda: update_provider_stats("", True),
    lambda: update_provider_stats("p", "yes"),
    lambda: update_provider_stats("p", 2),  # a flag is True, False, 1 or 0, as in every domain
    lambda: update_provider_stats("p", True, score="80"),
    lambda: update_provider_stats("p", True, response_time_ms=-1),
    lambda: update_provider_stats("p", True, response_time_ms=math.nan),
    lambda: providers.record_search("p", None),
    lambda: providers.record_download("p", 8.5),
    lambda: providers.record_download_failure(None),
    lambda: auto_disable_provider("p", cooldown_minutes=-5),
    lambda: auto_disable_provider(7),
    lambda: auto_disable_provider("p", cooldown_minutes=1e15),
    lambda: providers.check_auto_disable("p", threshold=0),
    lambda: providers.check_auto_disable("p", threshold="10"),
    lambda: get_provider_health_history(days=-1),
    lambda: get_provider_stats(3),
])
def test_bad_stats_input_raises_and_writes_nothing(kernel, call):
    update_provider_stats("p", False)
    before = rows(kernel, stats)
    with pytest.raises(ValueError):
        call()
    assert rows(kernel, stats) == before


@pytest.mark.parametrize("value", TRICKY)
def test_provider_names_round_trip(kernel, value):
    update_provider_stats(value, True, 10)
    assert get_provider_stats(value)["provider_name"] == value
    assert list(get_provider_stats()) == [value]
    assert get_provider_success_rate(value) == 1.0


# -- concurrency: no lost update -----------------------------------------------------------------------

def test_concurrent_record_search_loses_no_update(kernel):
    repo = kernel.repo("providers")

    def worker(t: int) -> None:
        for i in range(500):
            repo.record_search("busy", i % 2 == 0, 10.0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    row = get_provider_stats("busy")
    assert (row["total_searches"], row["failed_downloads"], row["successful_downloads"]) == (4000, 2000, 0)
    assert row["avg_response_time_ms"] == 10.0 and row["last_response_time_ms"] == 10.0
    # Each thread ends success (i=498), failure (i=499): after the last success of all, that thread's
    # failure and at most the other seven threads' last failures follow, whatever the interleaving.
    assert 1 <= row["consecutive_failures"] <= 8
    assert len(rows(kernel, stats)) == 1


def test_concurrent_legacy_updates_lose_no_update(kernel):
    def worker(t: int) -> None:
        for _ in range(100):
            update_provider_stats("busy", True, score=60, response_time_ms=20)
            kernel.repo("providers").record_download_failure("busy")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    row = get_provider_stats("busy")
    assert (row["total_searches"], row["successful_downloads"], row["failed_downloads"]) == (800, 800, 800)
    assert row["avg_score"] == 60.0 and row["avg_response_time_ms"] == 20.0


# -- auto-disable --------------------------------------------------------------------------------------

def test_auto_disable_for_a_cooldown(kernel):
    assert is_provider_auto_disabled("p") is False
    auto_disable_provider("p", cooldown_minutes=15)  # creates the row
    row = get_provider_stats("p")
    assert row["auto_disabled"] == 1 and 14.9 < minutes_from_now(row["disabled_until"]) <= 15
    assert row["total_searches"] == 0 and row["consecutive_failures"] == 0
    assert is_provider_auto_disabled("p") is True
    assert kernel.repo("providers").is_auto_disabled("p") is True
    assert ProvidersRepository.is_provider_auto_disabled is ProvidersRepository.is_auto_disabled


def test_auto_disable_keeps_consecutive_failures(kernel):
    for _ in range(4):
        update_provider_stats("p", False)
    auto_disable_provider("p")
    row = get_provider_stats("p")
    assert row["consecutive_failures"] == 4 and 29.9 < minutes_from_now(row["disabled_until"]) <= 30


def test_expired_cooldown_clears_the_flag_on_read(kernel):
    for _ in range(3):
        update_provider_stats("p", False)
    auto_disable_provider("p")
    set_stats(kernel, "p", disabled_until=iso_in(minutes=-1))
    before = get_provider_stats("p")
    assert is_provider_auto_disabled("p") is False
    after = get_provider_stats("p")
    assert after == before | {"auto_disabled": 0, "disabled_until": ""}  # failures kept, updated_at too


def test_empty_disabled_until_means_disabled_until_cleared(kernel):
    auto_disable_provider("p")
    set_stats(kernel, "p", disabled_until="")
    assert is_provider_auto_disabled("p") is True
    set_stats(kernel, "p", disabled_until=None)
    assert is_provider_auto_disabled("p") is True
    assert clear_auto_disable("p") is True
    assert is_provider_auto_disabled("p") is False


def test_clear_auto_disable_resets_the_failures(kernel):
    for _ in range(12):
        update_provider_stats("p", False)
    auto_disable_provider("p")
    before = get_provider_stats("p")
    assert clear_auto_disable("p") is True
    assert get_provider_stats("p") == before | {"auto_disabled": 0, "disabled_until": "", "consecutive_failures": 0}
    assert clear_auto_disable("missing") is False
    assert get_provider_stats("missing") == {}


def test_check_auto_disable_uses_the_settings(kernel, make_kernel):
    repo = kernel.repo("providers")
    assert repo.check_auto_disable("missing") is False
    for _ in range(9):
        update_provider_stats("p", False)
    assert repo.check_auto_disable("p") is False  # default threshold 2 × 5 = 10
    assert get_provider_stats("p")["auto_disabled"] == 0
    update_provider_stats("p", False)
    assert repo.check_auto_disable("p") is True
    row = get_provider_stats("p")
    # disabled for provider_auto_disable_cooldown_minutes (the repository layer disabled forever)
    assert row["auto_disabled"] == 1 and 29.9 < minutes_from_now(row["disabled_until"]) <= 30
    other = make_kernel(circuit_breaker_failure_threshold=2, provider_auto_disable_cooldown_minutes=5).repo("providers")
    for _ in range(4):
        other.record_search("q", False)
    assert other.check_auto_disable("q") is True
    assert 4.9 < minutes_from_now(other.get_provider_stats("q")["disabled_until"]) <= 5
    assert other.check_auto_disable("p", threshold=11) is False
    assert repo.check_auto_disable("p", threshold=3) is True


def test_half_open_after_the_cooldown(kernel):
    repo = kernel.repo("providers")
    for _ in range(10):
        repo.record_search("p", False)
    assert repo.check_auto_disable("p") is True and repo.is_auto_disabled("p") is True
    set_stats(kernel, "p", disabled_until=iso_in(seconds=-1))  # the cooldown passed
    assert repo.is_auto_disabled("p") is False
    repo.record_search("p", False)  # one more failure disables again at once
    assert repo.check_auto_disable("p") is True and repo.is_auto_disabled("p") is True
    set_stats(kernel, "p", disabled_until=iso_in(seconds=-1))
    assert repo.is_auto_disabled("p") is False
    repo.record_search("p", True)  # a success closes the circuit: failures start from zero
    repo.record_search("p", False)
    assert repo.check_auto_disable("p") is False and repo.is_auto_disabled("p") is False


def test_disabled_providers_are_the_currently_disabled_ones(kernel):
    repo = kernel.repo("providers")
    for name in ("c", "a", "b", "d"):
        auto_disable_provider(name)
    set_stats(kernel, "b", disabled_until=iso_in(minutes=-1))  # cooldown passed, not yet read
    set_stats(kernel, "c", disabled_until="")  # indefinitely
    clear_auto_disable("d")
    update_provider_stats("e", True)
    disabled = repo.get_disabled_providers()
    assert [d["provider_name"] for d in disabled] == ["a", "c"]
    assert disabled[0] == get_provider_stats("a") and list(disabled[0]) == STATS_KEYS


def test_package_exports_both_name_sets():
    legacy = {"cache_provider_results", "get_cached_results", "cleanup_expired_cache", "get_provider_cache_stats",
              "get_provider_download_stats", "clear_provider_cache", "record_subtitle_download",
              "update_provider_stats", "get_provider_stats", "auto_disable_provider", "is_provider_auto_disabled",
              "clear_auto_disable", "get_provider_health_history", "get_provider_success_rate"}
    repository = {"record_search", "record_download", "record_download_failure", "get_all_provider_stats",
                  "clear_provider_stats", "check_auto_disable", "is_auto_disabled", "get_disabled_providers",
                  "save_cache_results",
                  # the download history other domains read (library, cache) through this repository
                  "get_subtitle_downloads", "get_subtitle_download_stats", "get_downloads_for_media"}
    assert set(providers.__all__) == legacy | repository


# -- migrations ----------------------------------------------------------------------------------------

# The legacy tables (tests/data/legacy.py) as in a file the final legacy release created
# (created_stage=FINAL_STAGE, the default): provider_stats has its four response-time columns inline,
# before updated_at, the physical order the baseline reproduces. A file created before legacy step 7
# has them appended after updated_at; adopting that variant is tested in tests/data/test_adopt.py.
TABLES = ("provider_cache", "subtitle_downloads", "provider_stats")


def test_sqlite_baseline_reproduces_the_legacy_tables(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, "providers", "providers_0001")
    assert compared.ours == compared.legacy
    assert [t for t in TABLES if compared.autoincrement(t)] == ["provider_cache", "subtitle_downloads"]


def test_postgresql_baseline_has_the_legacy_columns_and_indexes(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "providers", "providers_0001").close()
    described = describe(url, "provider_stats")
    assert [c[:3] for c in described["columns"]] == [
        ("provider_name", "TEXT", False), ("total_searches", "INTEGER", True),
        ("successful_downloads", "INTEGER", True), ("failed_downloads", "INTEGER", True),
        ("avg_score", "DOUBLE PRECISION", True), ("last_success_at", "TEXT", True),
        ("last_failure_at", "TEXT", True), ("consecutive_failures", "INTEGER", True),
        ("avg_response_time_ms", "DOUBLE PRECISION", True), ("last_response_time_ms", "DOUBLE PRECISION", True),
        ("auto_disabled", "INTEGER", True), ("disabled_until", "TEXT", True), ("updated_at", "TEXT", False)]
    defaults = [c[3] for c in described["columns"]]
    assert defaults[:5] == [None, "0", "0", "0", "0"] and defaults[7:11] == ["0", "0", "0", "0"]
    assert defaults[11] == "''::text" and "now()" in defaults[12]
    assert described["indexes"] == [("idx_provider_stats_updated", ["updated_at"], False)]
    assert describe(url, "provider_cache")["indexes"] == [
        ("idx_provider_cache_expires", ["expires_at"], False),
        ("idx_provider_cache_hash", ["provider_name", "query_hash"], False)]
    sub = describe(url, "subtitle_downloads")
    assert [c[0] for c in sub["columns"]] == DOWNLOAD_KEYS
    assert sub["columns"][4][3] == "''::text" and sub["columns"][8][3] == "'full'::text"
    assert sub["indexes"] == [("idx_subtitle_downloads_path", ["file_path"], False)]


def test_head_has_the_unique_cache_key_and_the_download_date_index(kernel):
    assert ("idx_provider_cache_hash", ["provider_name", "query_hash"], True) in describe(
        kernel.database_url, "provider_cache")["indexes"]
    assert ("idx_subtitle_downloads_downloaded_at", ["downloaded_at"], False) in describe(
        kernel.database_url, "subtitle_downloads")["indexes"]


def test_models_describe_the_head_schema(kernel):
    assert model_drift(kernel, TABLES, server_defaults=True) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    with boot(empty_database(dialect)) as k:
        assert k.migrator.current()["providers"] == k.migrator.heads()["providers"] == "providers_0004"
        update_provider_stats("p", True)
        k.migrator.downgrade("base", domain="providers")
        assert k.migrator.current()["providers"] is None
        assert not set(TABLES) & set(inspect(k.engine).get_table_names())
        k.migrator.upgrade(domain="providers")
        assert k.migrator.current()["providers"] == "providers_0004"
        assert get_provider_stats() == {}
        k.migrator.downgrade("providers_0001", domain="providers")
        assert ("idx_provider_cache_hash", ["provider_name", "query_hash"], False) in describe(
            k.database_url, "provider_cache")["indexes"]
        k.migrator.upgrade(domain="providers")
        cache_provider_results("p", "h", "[]")
        cache_provider_results("p", "h", "[1]")
        assert get_cached_results("p", "h") == "[1]"


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_duplicate_cache_rows_are_merged_keeping_the_newest(empty_database, dialect):
    url = empty_database(dialect)
    k = at_revision(url, "providers", "providers_0001")
    try:
        entries = [("p", "h", "oldest", "2024-01-01T00:00:00", "2999-01-01T00:00:00"),
                   ("p", "h", "newest", "2024-03-01T00:00:00", "2999-01-01T00:00:00"),
                   ("p", "h", "middle", "2024-02-01T00:00:00", "2999-01-01T00:00:00"),
                   ("p", "other", "alone", "2024-01-01T00:00:00", "2999-01-01T00:00:00"),
                   ("q", "h", "tie-1", "2024-01-01T00:00:00", "2999-01-01T00:00:00"),
                   ("q", "h", "tie-2", "2024-01-01T00:00:00", "2999-01-01T00:00:00")]
        with k.engine.begin() as conn:
            for name, qh, result, cached, expires in entries:
                conn.execute(insert(cache).values(provider_name=name, query_hash=qh, results_json=result,
                                                  cached_at=cached, expires_at=expires))
        k.migrator.upgrade(domain="providers")
        assert sorted((r["provider_name"], r["query_hash"], r["results_json"]) for r in rows(k, cache)) == [
            ("p", "h", "newest"), ("p", "other", "alone"), ("q", "h", "tie-2")]
        assert get_cached_results("p", "h") == "newest"
    finally:
        k.close()


def test_legacy_sqlite_database_is_adopted_with_its_rows(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, TABLES, """
        INSERT INTO provider_cache (provider_name, query_hash, results_json, cached_at, expires_at)
            VALUES ('combined', 'h', '[1]', '2024-01-01T00:00:00', '2999-01-01T00:00:00');
        INSERT INTO provider_cache (provider_name, query_hash, results_json, cached_at, expires_at)
            VALUES ('combined', 'h', '[2]', '2024-01-02T00:00:00', '2999-01-01T00:00:00');
        INSERT INTO subtitle_downloads (provider_name, subtitle_id, language, format, file_path, score, downloaded_at)
            VALUES ('opensubtitles', '1', 'de', 'ass', '/tv/a.mkv', 80, '2024-01-01T00:00:00');
        INSERT INTO provider_stats (provider_name, total_searches, successful_downloads, consecutive_failures,
                                    updated_at)
            VALUES ('opensubtitles', 10, 4, 3, '2024-01-01T00:00:00')""")
    with boot(url) as k:
        assert k.migrator.current()["providers"] == "providers_0004"
        assert get_cached_results("combined", "h") == "[2]" and len(rows(k, cache)) == 1
        assert get_provider_download_stats() == {"opensubtitles": {"total": 1, "by_format": {"ass": 1}}}
        assert rows(k, downloads)[0]["subtitle_type"] == "full"
        update_provider_stats("opensubtitles", False)
        row = get_provider_stats("opensubtitles")
        assert (row["total_searches"], row["successful_downloads"], row["consecutive_failures"]) == (11, 4, 4)
        assert record_subtitle_download("x", "2", "de", "srt", "/f", 1) == 2
        with k.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(stats)).scalar() == 1
