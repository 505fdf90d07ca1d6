"""4 processes writing the same SQLite file for ``SUBLARR_FAULT_SQLITE_SECONDS`` (default 30) seconds.

Each process boots its own kernel on the file and loops: an upsert of its own new wanted item,
an upsert of one of 200 wanted items that every process rewrites, a ``record_search`` on a
provider shared by all processes and one on its own provider. Lessons kept (LESSONS.md,
"SQLite"): WAL, ``busy_timeout`` and ``BEGIN IMMEDIATE`` on every write, so no caller ever sees
"database is locked", and the counters add up exactly.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import boot
from tests.fault.conftest import kill_process, report, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PROCESSES = 4
DURATION = float(os.environ.get("SUBLARR_FAULT_SQLITE_SECONDS", "30"))
SHARED_ITEMS = 200

WRITER = r"""
import json, sys, time
from sublarr import Kernel

db, number, duration, out, shared = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], int(sys.argv[5])
kernel = Kernel.boot(database_url=f"sqlite:///{db}", settings_files=[], entry_points=False, redis_url="")
wanted, providers = kernel.repo("wanted"), kernel.repo("providers")
print("ready", flush=True)
sys.stdin.readline()  # the parent starts every process at once
counts = {"own": 0, "shared": 0, "search_shared": 0, "search_own": 0}
errors, locked, slowest, i = [], 0, 0.0, 0
deadline = time.monotonic() + duration
operations = (
    ("own", lambda i: wanted.upsert_wanted_item("episode", f"/lib/p{number}/e{i:06d}.mkv", title=f"p{number}")),
    ("shared", lambda i: wanted.upsert_wanted_item("episode", f"/lib/shared/e{i % shared:03d}.mkv",
                                                   title=f"p{number}-{i}")),
    ("search_shared", lambda i: providers.record_search("shared", i % 3 != 0, float(i % 97))),
    ("search_own", lambda i: providers.record_search(f"own-{number}", True)),
)
while time.monotonic() < deadline:
    i += 1
    for name, op in operations:
        started = time.monotonic()
        try:
            op(i)
            counts[name] += 1
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            locked += "database is locked" in text
            errors.append(text[:300])
        slowest = max(slowest, time.monotonic() - started)
kernel.close()
json.dump({"counts": counts, "errors": errors[:20], "error_count": len(errors), "locked": locked,
           "slowest": slowest, "iterations": i}, open(out, "w"))
"""


def test_four_processes_write_one_sqlite_file(tmp_path):
    db = tmp_path / "shared.db"
    boot(f"sqlite:///{db}").close()  # migrated before the writers start
    processes = []
    try:
        for number in range(PROCESSES):
            processes.append(subprocess.Popen(
                [sys.executable, "-c", WRITER, str(db), str(number), str(DURATION), str(tmp_path / f"out{number}.json"),
                 str(SHARED_ITEMS)],
                cwd=tmp_path, env=subprocess_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True))
        for process in processes:
            line = process.stdout.readline().strip()
            assert line == "ready", process.stderr.read()[-3000:] if process.poll() is not None else line
        started = time.monotonic()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            _, err = process.communicate(timeout=DURATION + 120)
            assert process.returncode == 0, err[-3000:]
        elapsed = time.monotonic() - started
    finally:
        for process in processes:
            kill_process(process)

    results = [json.loads((tmp_path / f"out{n}.json").read_text()) for n in range(PROCESSES)]
    assert sum(r["locked"] for r in results) == 0, [r["errors"] for r in results]
    assert sum(r["error_count"] for r in results) == 0, [r["errors"] for r in results]

    raw = sqlite3.connect(db)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for number, result in enumerate(results):
            own = raw.execute("select count(*) from wanted_items where file_path like ?",
                              (f"/lib/p{number}/%",)).fetchone()[0]
            assert own == result["counts"]["own"]
            searches = raw.execute("select total_searches from provider_stats where provider_name = ?",
                                   (f"own-{number}",)).fetchone()[0]
            assert searches == result["counts"]["search_own"]
        shared_rows = raw.execute("select count(*) from wanted_items where file_path like '/lib/shared/%'").fetchone()[0]
        shared_calls = sum(r["counts"]["shared"] for r in results)
        assert shared_rows == min(SHARED_ITEMS, max(r["counts"]["shared"] for r in results))
        total, failed = raw.execute(
            "select total_searches, failed_downloads from provider_stats where provider_name = 'shared'").fetchone()
        assert total == sum(r["counts"]["search_shared"] for r in results)
        expected_failed = 0
        for r in results:  # each process failed every third search (i % 3 == 0), i = 1..iterations
            expected_failed += r["counts"]["search_shared"] // 3
        assert failed == expected_failed
        duplicates = raw.execute("select count(*) from (select 1 from wanted_items group by file_path, "
                                 "target_language, subtitle_type having count(*) > 1)").fetchone()[0]
        assert duplicates == 0
    finally:
        raw.close()
    operations = sum(sum(r["counts"].values()) for r in results)
    report("sqlite_4_processes", processes=PROCESSES, seconds=round(elapsed, 1), operations=operations,
           writes_per_s=round(operations / elapsed), shared_upserts=shared_calls, errors=0, database_is_locked=0,
           slowest_call_s=round(max(r["slowest"] for r in results), 3), integrity="ok", lost=0)
