"""whisper domain: ``whisper_jobs`` (legacy ``db/whisper.py``) on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Text, func, inspect, select

from sublarr.core.schema import Real
from sublarr.plugins import whisper
from sublarr.plugins.whisper.models import whisper_jobs
from tests.conftest import boot
from tests.domains.schema import compare_with_legacy, create_legacy_tables, reflect, type_name

JOB_KEYS = ["id", "file_path", "language", "status", "progress", "phase", "backend_name", "detected_language",
            "language_probability", "srt_content", "segment_count", "duration_seconds", "processing_time_ms",
            "error", "created_at", "started_at", "completed_at"]
TRICKY = ["it's \"quoted\"", "100% _under_ \\back", "Ünïcödé 字幕 🎬", "x" * 2000]  # the longest indexed value (MAX_INDEXED_BYTES)


def row_count(kernel) -> int:
    with kernel.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(whisper_jobs)).scalar_one()


# -- create / get ----------------------------------------------------------------------------------

def test_create_returns_the_six_key_dict_and_stores_the_full_row(kernel):
    job = whisper.create_whisper_job("job1", "/media/a.mkv", "ja")
    assert list(job) == ["id", "file_path", "language", "status", "progress", "created_at"]
    assert job["id"] == "job1" and job["file_path"] == "/media/a.mkv" and job["language"] == "ja"
    assert job["status"] == "queued" and job["progress"] == 0.0
    row = whisper.get_whisper_job("job1")
    assert list(row) == JOB_KEYS
    assert row["created_at"] == job["created_at"]
    assert (row["phase"], row["backend_name"], row["srt_content"], row["error"]) == ("", "", "", "")
    assert (row["started_at"], row["completed_at"]) == ("", "")
    assert (row["segment_count"], row["language_probability"], row["duration_seconds"]) == (0, 0.0, 0.0)
    assert row["processing_time_ms"] == 0.0


def test_create_defaults_language_to_empty(kernel):
    assert whisper.create_whisper_job("j", "/a")["language"] == ""
    assert whisper.get_whisper_job("j")["language"] == ""


def test_repository_and_package_functions_are_the_same(kernel):
    repo = kernel.repo("whisper")
    repo.create_whisper_job("r1", "/x")
    assert whisper.get_whisper_job("r1") == repo.get_whisper_job("r1")
    assert set(whisper.__all__) == {"create_whisper_job", "update_whisper_job", "get_whisper_job",
                                    "get_whisper_jobs", "delete_whisper_job", "get_whisper_stats"}


def test_duplicate_id_raises_value_error_and_keeps_the_first_job(kernel):
    whisper.create_whisper_job("dup", "/first")
    with pytest.raises(ValueError, match="exists already"):
        whisper.create_whisper_job("dup", "/second")
    assert whisper.get_whisper_job("dup")["file_path"] == "/first"
    assert row_count(kernel) == 1
    whisper.create_whisper_job("other", "/third")  # the connection is usable afterwards
    assert row_count(kernel) == 2


@pytest.mark.parametrize("args", [
    (None, "/a", ""), ("", "/a", ""), (5, "/a", ""), ("j", None, ""), ("j", b"/a", ""), ("j", "/a", None),
    ("j", "/a\x00b", ""),
])
def test_create_bad_inputs_raise_value_error_and_write_nothing(kernel, args):
    with pytest.raises(ValueError):
        whisper.create_whisper_job(*args)
    assert row_count(kernel) == 0


def test_get_missing_job_is_none(kernel):
    assert whisper.get_whisper_job("nope") is None


@pytest.mark.parametrize("bad", [None, 1, b"x"])
def test_get_and_delete_with_a_non_string_id_raise_value_error(kernel, bad):
    with pytest.raises(ValueError):
        whisper.get_whisper_job(bad)
    with pytest.raises(ValueError):
        whisper.delete_whisper_job(bad)


@pytest.mark.parametrize("text", TRICKY, ids=["quotes", "like-metacharacters", "unicode", "long"])
def test_strings_round_trip_exactly(kernel, text):
    whisper.create_whisper_job(text, text, text)
    whisper.update_whisper_job(text, srt_content=text, error=text, phase=text)
    row = whisper.get_whisper_job(text)
    assert row["id"] == row["file_path"] == row["language"] == text
    assert row["srt_content"] == row["error"] == row["phase"] == text


# -- update ----------------------------------------------------------------------------------------

def test_update_writes_the_completion_payload_of_the_whisper_queue(kernel):
    whisper.create_whisper_job("c", "/a")
    whisper.update_whisper_job(
        "c", status="completed", progress=1.0, phase="completed", backend_name="faster_whisper",
        detected_language="ja", language_probability=0.97, srt_content="1\n00:00:01,000 --> 00:00:02,000\nHi\n",
        segment_count=12, duration_seconds=1440.5, processing_time_ms=53211.25, completed_at="2026-01-01T00:00:00",
    )
    row = whisper.get_whisper_job("c")
    assert row["status"] == "completed" and row["progress"] == 1.0 and row["segment_count"] == 12
    assert row["language_probability"] == pytest.approx(0.97)
    assert row["processing_time_ms"] == 53211.25 and row["duration_seconds"] == 1440.5
    assert row["completed_at"] == "2026-01-01T00:00:00" and row["started_at"] == ""


def test_update_accepts_ints_for_real_columns(kernel):
    whisper.create_whisper_job("i", "/a")
    whisper.update_whisper_job("i", progress=1, processing_time_ms=250)
    row = whisper.get_whisper_job("i")
    assert row["progress"] == 1.0 and isinstance(row["progress"], float)
    assert row["processing_time_ms"] == 250.0


def test_update_without_fields_is_a_no_op(kernel):
    whisper.create_whisper_job("n", "/a")
    before = whisper.get_whisper_job("n")
    assert whisper.update_whisper_job("n") is None
    assert whisper.get_whisper_job("n") == before


def test_update_of_a_missing_id_is_a_silent_no_op(kernel):
    assert whisper.update_whisper_job("missing", status="failed") is None
    assert whisper.get_whisper_job("missing") is None
    assert row_count(kernel) == 0


def test_update_with_an_unknown_field_raises_and_writes_nothing(kernel):
    whisper.create_whisper_job("u", "/a")
    with pytest.raises(ValueError, match="bogus"):
        whisper.update_whisper_job("u", status="failed", bogus=1)
    assert whisper.get_whisper_job("u")["status"] == "queued"


def test_update_cannot_change_the_id(kernel):
    whisper.create_whisper_job("keep", "/a")
    with pytest.raises(ValueError, match="id"):
        whisper.update_whisper_job("keep", id="other")
    assert whisper.get_whisper_job("keep") is not None and whisper.get_whisper_job("other") is None


@pytest.mark.parametrize("fields", [
    {"file_path": None}, {"status": None}, {"status": 3}, {"progress": "half"}, {"progress": math.nan},
    {"progress": math.inf}, {"progress": True}, {"segment_count": 1.5}, {"segment_count": "3"},
    {"segment_count": 2**70}, {"segment_count": 2**31}, {"error": b"bytes"},
])
def test_update_with_unstorable_values_raises_and_writes_nothing(kernel, fields):
    whisper.create_whisper_job("v", "/a")
    before = whisper.get_whisper_job("v")
    with pytest.raises(ValueError):
        whisper.update_whisper_job("v", phase="changed", **fields)
    assert whisper.get_whisper_job("v") == before


def test_update_can_null_nullable_columns(kernel):
    whisper.create_whisper_job("nul", "/a")
    whisper.update_whisper_job("nul", error=None, progress=None)
    row = whisper.get_whisper_job("nul")
    assert row["error"] is None and row["progress"] is None


# -- lists -----------------------------------------------------------------------------------------

def make_jobs(specs):
    for job_id, status, created in specs:
        whisper.create_whisper_job(job_id, f"/media/{job_id}.mkv")
        whisper.update_whisper_job(job_id, status=status, created_at=created)


def test_get_whisper_jobs_newest_first_with_status_filter_and_limit(kernel):
    make_jobs([("a", "queued", "2026-01-01T00:00:00.000001"), ("b", "completed", "2026-01-03T00:00:00.000000"),
               ("c", "failed", "2026-01-02T00:00:00.000000"), ("d", "completed", "2026-01-04T00:00:00.000000")])
    assert [j["id"] for j in whisper.get_whisper_jobs()] == ["d", "b", "c", "a"]
    assert [j["id"] for j in whisper.get_whisper_jobs(status="completed")] == ["d", "b"]
    assert [j["id"] for j in whisper.get_whisper_jobs(limit=2)] == ["d", "b"]
    assert whisper.get_whisper_jobs(limit=0) == []
    assert whisper.get_whisper_jobs(status="cancelled") == []
    # legacy: the status filter is applied only when truthy
    assert len(whisper.get_whisper_jobs(status="")) == 4
    assert list(whisper.get_whisper_jobs()[0]) == JOB_KEYS


def test_get_whisper_jobs_default_limit_is_50(kernel):
    for i in range(55):
        whisper.create_whisper_job(f"j{i:02}", "/a")
    assert len(whisper.get_whisper_jobs()) == 50


@pytest.mark.parametrize("kwargs", [{"limit": -1}, {"limit": "5"}, {"limit": None}, {"status": 1}])
def test_get_whisper_jobs_bad_arguments(kernel, kwargs):
    with pytest.raises(ValueError):
        whisper.get_whisper_jobs(**kwargs)


def test_delete(kernel):
    whisper.create_whisper_job("del", "/a")
    assert whisper.delete_whisper_job("del") is True
    assert whisper.get_whisper_job("del") is None
    assert whisper.delete_whisper_job("del") is False


# -- stats -----------------------------------------------------------------------------------------

def test_stats_of_an_empty_table(kernel):
    assert whisper.get_whisper_stats() == {"total": 0, "by_status": {}, "avg_processing_time_ms": 0.0}


def test_stats_average_completed_jobs_with_a_positive_time_rounded(kernel):
    for job_id, status, ms in [("a", "completed", 100.04), ("b", "completed", 200.0), ("c", "completed", 0.0),
                               ("d", "failed", 9999.0), ("e", "queued", None), ("f", "completed", 300.1)]:
        whisper.create_whisper_job(job_id, "/a")
        if ms is not None:
            whisper.update_whisper_job(job_id, status=status, processing_time_ms=ms)
    stats = whisper.get_whisper_stats()
    assert list(stats) == ["total", "by_status", "avg_processing_time_ms"]
    assert stats["total"] == 6
    assert stats["by_status"] == {"completed": 4, "failed": 1, "queued": 1}
    assert list(stats["by_status"]) == ["completed", "failed", "queued"]
    assert stats["avg_processing_time_ms"] == round((100.04 + 200.0 + 300.1) / 3, 1) == 200.0
    assert isinstance(stats["avg_processing_time_ms"], float)


def test_stats_without_qualifying_jobs_average_zero(kernel):
    whisper.create_whisper_job("q", "/a")
    assert whisper.get_whisper_stats()["avg_processing_time_ms"] == 0.0


# -- concurrency -----------------------------------------------------------------------------------

def test_concurrent_creates_of_the_same_ids_create_each_exactly_once(kernel):
    ids = [f"job-{i}" for i in range(50)]

    def worker(_):
        created = duplicates = 0
        for job_id in ids:
            try:
                whisper.create_whisper_job(job_id, "/a")
                created += 1
            except ValueError:
                duplicates += 1
        return created, duplicates

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    assert sum(c for c, _ in results) == len(ids)
    assert sum(d for _, d in results) == 7 * len(ids)
    assert row_count(kernel) == len(ids)


def test_concurrent_updates_of_different_jobs(kernel):
    for i in range(8):
        whisper.create_whisper_job(f"w{i}", "/a")

    def worker(i):
        for n in range(1, 201):
            whisper.update_whisper_job(f"w{i}", progress=n / 200, segment_count=n)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    for i in range(8):
        row = whisper.get_whisper_job(f"w{i}")
        assert row["progress"] == 1.0 and row["segment_count"] == 200


# -- schema and migrations -------------------------------------------------------------------------

def normalised_default(value):
    return None if value is None else value.split("::")[0].strip("()")


def test_baseline_reproduces_the_legacy_table(kernel):
    insp = reflect(kernel.engine)
    columns = insp.get_columns("whisper_jobs")
    assert [c["name"] for c in columns] == JOB_KEYS
    real = "REAL" if kernel.storage.name == "sqlite" else "DOUBLE PRECISION"
    if kernel.storage.name == "mariadb":
        assert type_name(kernel.engine, Real()) == "DOUBLE"  # 8 bytes, as the others
        real = "DOUBLE"
    types = {c["name"]: str(c["type"]) for c in columns}
    assert types["progress"] == types["language_probability"] == types["processing_time_ms"] == real
    assert types["segment_count"] == "INTEGER" and types["srt_content"] == type_name(kernel.engine, Text())
    not_null = {c["name"] for c in columns if not c["nullable"]}
    assert not_null == {"id", "file_path", "language", "status", "created_at"}
    defaults = {c["name"]: normalised_default(c["default"]) for c in columns}
    assert defaults["language"] == "''" and defaults["status"] == "'queued'"
    assert defaults["progress"] == "0.0" and defaults["segment_count"] == "0" and defaults["completed_at"] == "''"
    assert defaults["file_path"] is None and defaults["created_at"] is None
    assert insp.get_pk_constraint("whisper_jobs")["constrained_columns"] == ["id"]
    indexes = {i["name"]: i["column_names"] for i in insp.get_indexes("whisper_jobs")}
    assert indexes == {"idx_whisper_jobs_status": ["status"], "idx_whisper_jobs_created": ["created_at"]}


def test_server_defaults_fill_a_raw_insert(kernel):
    with kernel.engine.begin() as conn:
        conn.execute(whisper_jobs.insert().values(id="raw", file_path="/a", created_at="2026-01-01"))
    row = whisper.get_whisper_job("raw")
    assert row["status"] == "queued" and row["language"] == "" and row["progress"] == 0.0


def test_migrations_round_trip(storage, empty_database):
    k = boot(empty_database(storage))
    try:
        assert k.migrator.current()["whisper"] == "whisper_0001"
        assert k.migrator.heads()["whisper"] == "whisper_0001"
        k.migrator.downgrade("base", domain="whisper")
        assert "whisper_jobs" not in inspect(k.engine).get_table_names()
        assert k.migrator.current()["whisper"] is None
        k.migrator.upgrade(domain="whisper")
        assert k.migrator.current()["whisper"] == "whisper_0001"
        whisper.create_whisper_job("after", "/a")
        assert whisper.get_whisper_job("after")["status"] == "queued"
    finally:
        k.close()


def test_baseline_matches_the_legacy_ddl_on_sqlite(empty_database):
    compared = compare_with_legacy(empty_database, ["whisper_jobs"])  # every domain at head
    assert compared.ours == compared.legacy


def test_an_adopted_legacy_table_keeps_its_rows(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, ["whisper_jobs"],
                         "INSERT INTO whisper_jobs (id, file_path, created_at, status, processing_time_ms) "
                         "VALUES ('old', '/a.mkv', '2025-01-01T00:00:00', 'completed', 12.5)")
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"whisper": "whisper_0001"})
        k.migrator.upgrade(domain="whisper")
        assert whisper.get_whisper_job("old")["processing_time_ms"] == 12.5
        assert whisper.get_whisper_stats() == {"total": 1, "by_status": {"completed": 1},
                                               "avg_processing_time_ms": 12.5}
    finally:
        k.close()
