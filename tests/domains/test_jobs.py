"""jobs domain: legacy job dicts and statuses, paging, retention, atomic daily statistics, migrations."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, inspect, select, update

from sublarr.core.timeutil import iso_in, utc_today
from sublarr.plugins import jobs
from sublarr.plugins.jobs import (
    create_job,
    delete_job,
    delete_old_jobs,
    get_daily_stats,
    get_job,
    get_jobs,
    get_outdated_jobs,
    get_outdated_jobs_count,
    get_pending_job_count,
    get_recent_jobs,
    get_stats_summary,
    record_daily_stats,
    record_stat,
    update_job,
)
from sublarr.plugins.jobs import repository as jobs_repository
from sublarr.plugins.jobs.models import daily_stats as daily_table
from sublarr.plugins.jobs.models import jobs as jobs_table
from tests.conftest import boot
from tests.domains.schema import compare_with_legacy, create_legacy_tables, describe

JOB_KEYS = ["id", "file_path", "status", "source_format", "output_path", "error", "force", "created_at",
            "completed_at", "config_hash", "stats", "arr_context"]
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
TABLES = ("jobs", "daily_stats")


def stored_job(kernel, job_id: str) -> dict | None:
    with kernel.engine.connect() as conn:
        row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def stored_days(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(daily_table).order_by(daily_table.c.date)).mappings()]


def set_job(kernel, job_id: str, **values) -> None:
    with kernel.engine.begin() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**values))


def add_day(kernel, day: str, translated=0, failed=0, skipped=0, by_format='{}', by_source='{}') -> None:
    with kernel.engine.begin() as conn:
        conn.execute(insert(daily_table).values(date=day, translated=translated, failed=failed, skipped=skipped,
                                                by_format_json=by_format, by_source_json=by_source))


def days_ago(n: int) -> str:
    return (date.fromisoformat(utc_today()) - timedelta(days=n)).isoformat()


# -- create / read / update ------------------------------------------------------------------------

def test_create_job_returns_the_legacy_literal_dict(kernel):
    job = create_job("/tv/a.mkv", force=True, arr_context={"sonarr_series_id": 7, "name": "Ü"})
    assert list(job) == ["id", "file_path", "status", "force", "arr_context", "created_at", "completed_at",
                         "result", "error"]
    assert re.fullmatch(r"[0-9a-f]{8}", job["id"])
    assert job == {"id": job["id"], "file_path": "/tv/a.mkv", "status": "queued", "force": True,
                   "arr_context": {"sonarr_series_id": 7, "name": "Ü"}, "created_at": job["created_at"],
                   "completed_at": None, "result": None, "error": None}
    assert TIMESTAMP.match(job["created_at"])
    row = stored_job(kernel, job["id"])
    # the row holds '' where the returned dict says None (legacy quirk kept)
    assert (row["completed_at"], row["error"], row["force"], row["stats_json"]) == ("", "", 1, "{}")
    assert row["bazarr_context_json"] == '{"sonarr_series_id": 7, "name": "\\u00dc"}'


def test_get_job_has_the_legacy_keys(kernel):
    job_id = create_job("/tv/a.mkv")["id"]
    assert kernel.repo("jobs").get_job(job_id) == get_job(job_id)
    job = get_job(job_id)
    assert list(job) == JOB_KEYS
    assert job == {"id": job_id, "file_path": "/tv/a.mkv", "status": "queued", "source_format": "",
                   "output_path": "", "error": "", "force": False, "created_at": job["created_at"],
                   "completed_at": "", "config_hash": "", "stats": {}, "arr_context": None}
    assert stored_job(kernel, job_id)["bazarr_context_json"] == ""  # an empty context is stored as ''
    assert get_job("nothere") is None


def test_update_job_records_result_and_completion(kernel):
    job_id = create_job("/tv/a.mkv", arr_context={"a": 1})["id"]
    result = {"stats": {"format": "ass", "config_hash": "abc123", "lines": 420}, "output_path": "/tv/a.de.ass"}
    assert update_job(job_id, "completed", result) is None
    job = get_job(job_id)
    assert (job["status"], job["source_format"], job["config_hash"], job["output_path"], job["error"]) == \
        ("completed", "ass", "abc123", "/tv/a.de.ass", "")
    assert job["stats"] == result["stats"] and job["arr_context"] == {"a": 1}
    assert TIMESTAMP.match(job["completed_at"])
    # a non-final status clears completed_at; no result means stats {} and no format/hash
    update_job(job_id, "running")
    job = get_job(job_id)
    assert (job["completed_at"], job["stats"], job["source_format"], job["config_hash"], job["output_path"]) == \
        ("", {}, "", "", "")
    update_job(job_id, "failed", error="ffmpeg exploded")
    job = get_job(job_id)
    assert job["error"] == "ffmpeg exploded" and TIMESTAMP.match(job["completed_at"])
    update_job(job_id, "failed", {"output_path": "/x"})  # a result without stats
    assert get_job(job_id)["stats"] == {} and get_job(job_id)["output_path"] == "/x"


def test_cancelled_is_a_final_status(kernel):
    job_id = create_job("/tv/a.mkv")["id"]
    update_job(job_id, "cancelled")
    assert TIMESTAMP.match(get_job(job_id)["completed_at"])


def test_update_of_a_missing_job_does_nothing(kernel):
    assert update_job("nothere", "completed", {"stats": {"format": "srt"}}) is None
    assert get_jobs()["total"] == 0


@pytest.mark.parametrize("args", [
    ("done",), (None,), ("completed", "not a dict"), ("completed", {"stats": ["x"]}),
    ("completed", {"stats": {"format": 3}}), ("completed", {"output_path": 5}), ("failed", None, 42),
    ("completed", {"stats": {"x": object()}}),
])
def test_bad_updates_raise_value_error_and_write_nothing(kernel, args):
    job_id = create_job("/tv/a.mkv")["id"]
    before = stored_job(kernel, job_id)
    with pytest.raises(ValueError):
        update_job(job_id, *args)
    assert stored_job(kernel, job_id) == before


@pytest.mark.parametrize("args", [(None,), ("",), (5,), ("/a", "yes"), ("/a", 2), ("/a", False, "ctx"),
                                  ("/a", False, {"x": {1, 2}}), ("/a\x00b",)])
def test_bad_creates_raise_value_error_and_write_nothing(kernel, args):
    with pytest.raises(ValueError):
        create_job(*args)
    assert get_jobs()["total"] == 0


@pytest.mark.parametrize("value", ["it's \"quoted\"", "100% _done_ \\", "Ünïcödé 字幕 🎬", "x" * 2000])  # the longest indexed value (MAX_INDEXED_BYTES)
def test_strings_round_trip_exactly(kernel, value):
    job_id = create_job(value, arr_context={"title": value})["id"]
    update_job(job_id, "failed", {"stats": {"format": value, "config_hash": value}, "output_path": value}, value)
    job = get_job(job_id)
    assert [job[k] for k in ("file_path", "source_format", "config_hash", "output_path", "error")] == [value] * 5
    assert job["arr_context"] == {"title": value} and job["stats"]["format"] == value


def test_a_colliding_job_id_is_drawn_again(kernel, monkeypatch):
    first = create_job("/tv/a.mkv")["id"]
    draws = iter([uuid.UUID(f"{first}-0000-4000-8000-000000000000"), uuid.UUID(int=0xABCDEF01 << 96)])
    monkeypatch.setattr(jobs_repository.uuid, "uuid4", lambda: next(draws))
    second = create_job("/tv/b.mkv")
    assert second["id"] == "abcdef01"
    assert get_job(first)["file_path"] == "/tv/a.mkv" and get_job("abcdef01")["file_path"] == "/tv/b.mkv"


def test_invalid_stored_json_reads_as_empty(kernel):
    job_id = create_job("/tv/a.mkv")["id"]
    set_job(kernel, job_id, stats_json="{broken", bazarr_context_json="[unclosed")
    assert (get_job(job_id)["stats"], get_job(job_id)["arr_context"]) == ({}, None)
    set_job(kernel, job_id, stats_json=None, bazarr_context_json=None, force=None)
    assert (get_job(job_id)["stats"], get_job(job_id)["arr_context"], get_job(job_id)["force"]) == ({}, None, False)


# -- lists and counts ------------------------------------------------------------------------------

def make_jobs(kernel, count: int) -> list[str]:
    """Jobs created one second apart (oldest first), so the order is known."""
    ids = []
    for n in range(count):
        job_id = create_job(f"/tv/{n:03d}.mkv")["id"]
        set_job(kernel, job_id, created_at=f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}.000000")
        ids.append(job_id)
    return ids


def test_jobs_are_paginated_newest_first(kernel):
    ids = make_jobs(kernel, 23)
    pages = [get_jobs(page=p, per_page=10) for p in (1, 2, 3)]
    assert [(p["page"], p["per_page"], p["total"], p["total_pages"]) for p in pages] == [
        (1, 10, 23, 3), (2, 10, 23, 3), (3, 10, 23, 3)]
    assert [j["id"] for p in pages for j in p["data"]] == ids[::-1]
    assert list(pages[0]["data"][0]) == JOB_KEYS
    assert get_jobs(page=4, per_page=10)["data"] == []
    assert kernel.repo("jobs").get_jobs(page=2, per_page=10) == pages[1]


def test_job_pages_filter_by_status(kernel):
    ids = make_jobs(kernel, 6)
    for job_id in ids[::2]:
        update_job(job_id, "completed")
    completed = get_jobs(status="completed")
    assert [j["id"] for j in completed["data"]] == ids[::2][::-1] and completed["total"] == 3
    assert get_jobs(status="failed") == {"data": [], "page": 1, "per_page": 50, "total": 0, "total_pages": 1}
    assert get_jobs(status="")["total"] == 6  # falsy: no filter (legacy)


@pytest.mark.parametrize("call", [lambda: get_jobs(page=0), lambda: get_jobs(per_page=0), lambda: get_jobs(status="x"),
                                  lambda: get_recent_jobs(-1), lambda: get_recent_jobs("5"),
                                  lambda: get_outdated_jobs("h", limit=-1), lambda: get_outdated_jobs(None),
                                  lambda: get_outdated_jobs_count(5), lambda: get_job(None), lambda: delete_job(3),
                                  lambda: delete_old_jobs(-1), lambda: delete_old_jobs("30"),
                                  lambda: get_daily_stats(-1), lambda: get_daily_stats(None)])
def test_bad_arguments_raise_value_error(kernel, call):
    create_job("/tv/a.mkv")
    with pytest.raises(ValueError):
        call()
    assert get_jobs()["total"] == 1


def test_recent_jobs(kernel):
    ids = make_jobs(kernel, 12)
    assert [j["id"] for j in get_recent_jobs()] == ids[::-1][:10]
    assert [j["id"] for j in get_recent_jobs(3)] == ids[::-1][:3]
    assert get_recent_jobs(0) == []
    assert list(get_recent_jobs(1)[0]) == JOB_KEYS


def test_pending_jobs_are_queued_or_running(kernel):
    a, b, c, d = (create_job(f"/tv/{n}.mkv")["id"] for n in range(4))
    update_job(b, "running")
    update_job(c, "completed")
    update_job(d, "cancelled")
    assert get_pending_job_count() == 2


def test_outdated_jobs_are_completed_with_another_hash(kernel):
    ids = make_jobs(kernel, 6)
    update_job(ids[0], "completed", {"stats": {"config_hash": "old"}})
    update_job(ids[1], "completed", {"stats": {"config_hash": "current"}})
    update_job(ids[2], "completed", {"stats": {"format": "ass"}})  # no hash: never outdated
    update_job(ids[3], "failed", {"stats": {"config_hash": "old"}})  # not completed
    update_job(ids[4], "completed", {"stats": {"config_hash": "older"}})
    update_job(ids[5], "completed", {"stats": {"config_hash": "old"}})
    set_job(kernel, ids[0], completed_at="2026-02-01T00:00:00.000000")
    set_job(kernel, ids[4], completed_at="2026-03-01T00:00:00.000000")
    set_job(kernel, ids[5], completed_at="2026-01-15T00:00:00.000000")
    assert get_outdated_jobs_count("current") == 3
    assert [j["id"] for j in get_outdated_jobs("current")] == [ids[4], ids[0], ids[5]]
    assert [j["id"] for j in get_outdated_jobs("current", limit=1)] == [ids[4]]
    assert get_outdated_jobs_count("old") == 2 and get_outdated_jobs("nothing", 0) == []
    assert list(get_outdated_jobs("current")[0]) == JOB_KEYS


# -- deletes ---------------------------------------------------------------------------------------

def test_delete_job_reports_whether_it_existed(kernel):
    job_id = create_job("/tv/a.mkv")["id"]
    assert delete_job(job_id) is True and delete_job(job_id) is False
    assert get_job(job_id) is None


def test_delete_old_jobs_removes_only_old_finished_jobs(kernel):
    old = {status: create_job(f"/tv/{status}.mkv")["id"] for status in ("queued", "running", "completed", "failed",
                                                                          "cancelled")}
    for status, job_id in old.items():
        if status != "queued":
            update_job(job_id, status)
        set_job(kernel, job_id, created_at=iso_in(days=-31))
    fresh = create_job("/tv/fresh.mkv")["id"]
    update_job(fresh, "completed")
    week_old = create_job("/tv/week.mkv")["id"]
    update_job(week_old, "failed")
    set_job(kernel, week_old, created_at=iso_in(days=-8))
    assert delete_old_jobs() == 3  # the legacy repository deleted queued/running jobs too
    remaining = {j["id"] for j in get_jobs()["data"]}
    assert remaining == {old["queued"], old["running"], fresh, week_old}
    assert delete_old_jobs(7) == 1 and get_job(week_old) is None
    assert delete_old_jobs(30) == 0
    assert delete_old_jobs(0) == 1 and get_job(fresh) is None  # finished before now
    assert delete_old_jobs(10**9) == 0  # before the calendar: nothing is that old


# -- daily statistics ------------------------------------------------------------------------------

def test_record_stat_counts_in_todays_utc_row(kernel):
    record_stat(True, fmt="ass", source="sonarr")
    record_stat(True, fmt="srt")
    record_stat(True, skipped=True, fmt="ass", source="radarr")  # skipped: no format/source counts
    record_stat(False, fmt="ass", source="sonarr")  # failed: neither
    record_stat(False, skipped=True)  # failed wins over skipped
    record_daily_stats(True, source="sonarr")
    assert stored_days(kernel) == [{"date": utc_today(), "translated": 3, "failed": 2, "skipped": 1,
                                    "by_format_json": '{"ass": 1, "srt": 1}', "by_source_json": '{"sonarr": 2}'}]


@pytest.fixture
def local_date_is_not_utc(monkeypatch):
    """A local time zone whose date differs from the UTC date right now (legacy keyed stats by local date)."""
    zone = "Etc/GMT+12" if datetime.now(timezone.utc).hour < 12 else "Etc/GMT-14"  # UTC-12 / UTC+14
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_day_is_the_utc_date_not_the_local_one(kernel, local_date_is_not_utc):
    assert date.today().isoformat() != utc_today()
    record_stat(True)
    assert [d["date"] for d in stored_days(kernel)] == [utc_today()]
    assert get_stats_summary()["today_translated"] == 1
    assert get_daily_stats(1)[0]["date"] == utc_today()


def test_a_new_day_row_gets_explicit_counters_not_the_column_default(kernel):
    record_stat(False)
    assert stored_days(kernel)[0]["by_format_json"] == "{}"  # not the DDL default {"ass": 0, "srt": 0}
    record_stat(True, fmt="ass")
    assert stored_days(kernel)[0]["by_format_json"] == '{"ass": 1}'


def test_record_stat_merges_into_an_existing_row_with_legacy_values(kernel):
    add_day(kernel, utc_today(), translated=None, failed=None, skipped=2, by_format='{"ass": 0, "srt": 4}',
            by_source="not json")
    record_stat(True, fmt="srt", source="manual")
    record_stat(False)
    assert stored_days(kernel) == [{"date": utc_today(), "translated": 1, "failed": 1, "skipped": 2,
                                    "by_format_json": '{"ass": 0, "srt": 5}', "by_source_json": '{"manual": 1}'}]


@pytest.mark.parametrize("args", [(None,), ("yes",), (2,), (True, None), (True, False, None), (True, False, "", 5),
                                  (True, False, "a\x00")])
def test_bad_stats_raise_value_error_and_write_nothing(kernel, args):
    with pytest.raises(ValueError):
        record_stat(*args)
    assert stored_days(kernel) == []


def test_concurrent_stats_lose_no_update(patient_kernel):
    formats, sources = ("ass", "srt", "ssa", "vtt"), ("sonarr", "radarr")

    def work(worker: int) -> None:
        for n in range(500):
            record_stat(True, fmt=formats[(worker + n) % 4], source=sources[n % 2])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    [day] = get_daily_stats(1)
    assert day["translated"] == 4000
    assert day["by_format"] == {"ass": 1000, "srt": 1000, "ssa": 1000, "vtt": 1000}
    assert day["by_source"] == {"sonarr": 2000, "radarr": 2000}


def test_concurrent_mixed_outcomes_lose_no_update(patient_kernel):
    def work(worker: int) -> None:
        for n in range(100):
            record_stat(n % 3 != 0, skipped=n % 3 == 1, fmt="ass")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    [day] = get_daily_stats()
    assert (day["translated"], day["skipped"], day["failed"]) == (8 * 33, 8 * 33, 8 * 34)
    assert day["by_format"] == {"ass": 8 * 33}


def test_daily_stats_cover_the_last_days_newest_first(kernel):
    add_day(kernel, days_ago(40), translated=9)
    add_day(kernel, days_ago(29), translated=5, by_format='{"ass": 5}')
    add_day(kernel, days_ago(1), failed=2, by_source='{"sonarr": 1}')
    record_stat(True, fmt="srt")
    assert get_daily_stats() == [
        {"date": utc_today(), "translated": 1, "failed": 0, "skipped": 0, "by_format": {"srt": 1}, "by_source": {}},
        {"date": days_ago(1), "translated": 0, "failed": 2, "skipped": 0, "by_format": {}, "by_source": {"sonarr": 1}},
        {"date": days_ago(29), "translated": 5, "failed": 0, "skipped": 0, "by_format": {"ass": 5}, "by_source": {}},
    ]
    assert [d["date"] for d in get_daily_stats(2)] == [utc_today(), days_ago(1)]
    assert [d["date"] for d in get_daily_stats(1)] == [utc_today()]
    assert get_daily_stats(0) == []
    assert len(get_daily_stats(365)) == 4 and len(get_daily_stats(10**9)) == 4


def test_stats_summary_has_the_legacy_shape(kernel):
    assert get_stats_summary() == {"total_translated": 0, "total_failed": 0, "total_skipped": 0,
                                   "today_translated": 0, "by_format": {}, "by_source": {}, "daily": []}
    for n in range(1, 33):  # 32 older days: the summary covers the newest 30 rows (legacy)
        add_day(kernel, days_ago(n), translated=n, failed=1, skipped=None, by_format='{"ass": 1}',
                by_source='{"sonarr": 2}')
    record_stat(True, fmt="srt", source="radarr")
    record_stat(True, skipped=True)
    summary = get_stats_summary()
    assert list(summary) == ["total_translated", "total_failed", "total_skipped", "today_translated", "by_format",
                             "by_source", "daily"]
    assert summary["today_translated"] == 1
    assert summary["total_translated"] == 1 + sum(range(1, 30))
    assert (summary["total_failed"], summary["total_skipped"]) == (29, 1)
    assert summary["by_format"] == {"ass": 29, "srt": 1}
    assert summary["by_source"] == {"sonarr": 58, "radarr": 1}
    assert summary["daily"][:2] == [{"date": utc_today(), "translated": 1, "failed": 0, "skipped": 1},
                                    {"date": days_ago(1), "translated": 1, "failed": 1, "skipped": 0}]
    assert [d["date"] for d in summary["daily"]] == [utc_today()] + [days_ago(n) for n in range(1, 30)]
    assert kernel.repo("jobs").get_stats_summary() == summary


def test_package_exports_every_function():
    assert set(jobs.__all__) >= {
        "create_job", "update_job", "get_job", "get_jobs", "get_pending_job_count", "record_stat",
        "record_daily_stats", "get_stats_summary", "get_outdated_jobs_count", "get_outdated_jobs", "get_recent_jobs",
        "delete_job", "delete_old_jobs", "get_daily_stats", "JOB_STATUSES", "TERMINAL_STATUSES"}
    assert record_daily_stats.__name__ == "record_stat"


# -- migrations ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_baseline_reproduces_the_legacy_tables(empty_database, dialect):
    # defaults compared without PostgreSQL's ::text casts
    compared = compare_with_legacy(empty_database, TABLES, "jobs", "jobs_0001", dialect=dialect, strip_casts=True)
    assert compared.ours == compared.legacy
    assert compared.ours["jobs"]["indexes"] == [("idx_jobs_created", ["created_at"], False),
                                                ("idx_jobs_status", ["status"], False)]
    assert compared.ours["daily_stats"]["columns"][4] == (
        "by_format_json", "TEXT", True, """'{"ass": 0, "srt": 0}'""")


def test_head_adds_the_status_created_index(kernel):
    described = describe(kernel.database_url, "jobs")
    assert ("idx_jobs_status_created", ["status", "created_at"], False) in described["indexes"]
    assert [c[0] for c in described["columns"]] == [
        "id", "file_path", "status", "source_format", "output_path", "stats_json", "error", "force",
        "bazarr_context_json", "created_at", "completed_at", "config_hash"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    url = empty_database(dialect)
    k = boot(url)
    try:
        assert k.migrator.current()["jobs"] == k.migrator.heads()["jobs"] == "jobs_0004"
        create_job("/tv/a.mkv")
        record_stat(True)
        k.migrator.downgrade("base", domain="jobs")
        assert k.migrator.current()["jobs"] is None
        assert {"jobs", "daily_stats"}.isdisjoint(inspect(k.engine).get_table_names())
        k.migrator.upgrade(domain="jobs")
        assert k.migrator.current()["jobs"] == "jobs_0004"
        assert get_jobs()["total"] == 0 and get_daily_stats() == []
        job_id = create_job("/tv/a.mkv")["id"]
        assert get_job(job_id)["status"] == "queued"
    finally:
        k.close()


def test_legacy_rows_are_read_after_stamping_the_baseline(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, TABLES, "INSERT INTO jobs (id, file_path, status, stats_json, force, bazarr_context_json, "
                         "created_at, completed_at, config_hash) VALUES ('1a2b3c4d', '/tv/a.mkv', 'completed', "
                         "'{\"format\": \"ass\"}', 1, '{\"x\": 1}', '2024-01-01T10:00:00', "
                         "'2024-01-01T10:05:00', 'h1')")
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"jobs": "jobs_0001"})
        k.migrator.upgrade(domain="jobs")
        job = get_job("1a2b3c4d")
        assert (job["force"], job["stats"], job["arr_context"], job["config_hash"]) == (True, {"format": "ass"},
                                                                                         {"x": 1}, "h1")
        assert get_outdated_jobs_count("h2") == 1
    finally:
        k.close()
