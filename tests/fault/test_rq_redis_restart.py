"""Redis restarted while a ``sublarr worker`` runs jobs (issue 15, item 9).

A private, persistent redis-server (append-only file, fsync always) on a free port; a real
``sublarr worker`` subprocess (the simple worker, the default); jobs whose side effect is one line
in a file. The shared Redis is never touched.

Before: a job that returned while Redis was down could not be marked finished; RQ's worker gave up
and the job read ``running`` until its registry entry expired (job timeout + 60 s), then it was
failed as abandoned although it ran. Now the worker keeps what Redis missed and writes it on
reconnect: every job reads ``completed`` with its result, and ran exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sublarr.drivers.base import JobStatus
from tests.conftest import boot
from tests.fault.conftest import kill_process, report, subprocess_env
from tests.polling import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.timeout(300)]

JOBS = 120


# -- job functions (module level: the worker imports them by name) ---------------------------------

def recorded_job(token: str, log: str, seconds: float = 0.0, gate: str = "") -> str:
    """Sleep, wait for ``gate`` (a file) if given, then append ``token`` to ``log``: one line per run."""
    if gate:
        Path(f"{gate}.started").write_text(str(os.getpid()))
        deadline = time.monotonic() + 120
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    time.sleep(seconds)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{token}\n".encode())
    finally:
        os.close(fd)
    return f"{token} done"


# -- helpers ----------------------------------------------------------------------------------------

def start_worker(tmp_path: Path, redis_url: str, queue_name: str) -> tuple[subprocess.Popen, Path]:
    output = tmp_path / "worker.out"
    env = subprocess_env(SUBLARR_DB_PATH=str(tmp_path / "worker.db"), SUBLARR_REDIS_URL=redis_url,
                         SUBLARR_QUEUE_NAME=queue_name, SUBLARR_LOG_LEVEL="INFO")
    with output.open("w") as sink:
        worker = subprocess.Popen([sys.executable, "-m", "sublarr.cli", "worker"], cwd=tmp_path, env=env,
                                  stdout=sink, stderr=subprocess.STDOUT, text=True)
    return worker, output


def runs(log: Path) -> Counter:
    return Counter(log.read_text().split()) if log.exists() else Counter()


def restart(server) -> float:
    began = time.monotonic()
    server.stop()
    server.start()  # the same port; the append-only file brings every acknowledged job back
    return time.monotonic() - began


# -- tests ------------------------------------------------------------------------------------------

def test_a_job_that_returns_while_redis_is_down_reads_completed_afterwards(redis_factory, tmp_path):
    server = redis_factory(persistent=True)
    kernel = boot(f"sqlite:///{tmp_path / 'worker.db'}", redis_url=server.url, queue_name="restart-one")
    worker, output = start_worker(tmp_path, server.url, "restart-one")
    log, gate = tmp_path / "runs.log", tmp_path / "gate"
    try:
        queue = kernel.queue
        job_id = queue.enqueue(recorded_job, "gated", str(log), gate=str(gate))
        wait_until(Path(f"{gate}.started").exists, timeout=60, what="the job started in the worker")
        assert queue.get_job(job_id).status is JobStatus.RUNNING
        server.stop()
        gate.touch()  # the job returns while Redis is down
        wait_until(lambda: runs(log)["gated"] == 1, timeout=60, what="the job's side effect")
        wait_until(lambda: "while Redis was unreachable" in output.read_text(), timeout=60,
                   what="the worker noticing that Redis missed the outcome")
        server.start()
        info = wait_until(lambda: (j := queue.get_job(job_id)) and j.status is not JobStatus.RUNNING and j,
                          timeout=90, what="the job no longer running")
        assert info.status is JobStatus.COMPLETED, (info, output.read_text()[-3000:])
        assert info.result == "gated done"
        assert info.completed_at
        assert queue.active_jobs() == [] and queue.failed_jobs() == []
        assert runs(log) == Counter({"gated": 1})
        after = queue.enqueue(recorded_job, "after", str(log))  # the same worker carries on
        wait_until(lambda: queue.get_job(after).status is JobStatus.COMPLETED, timeout=90, what="a new job")
        report("rq_job_returns_while_redis_down", status=info.status.value, runs=dict(runs(log)), lost=0)
    finally:
        kill_process(worker)
        kernel.close()


def test_redis_restarted_twice_while_jobs_run(redis_factory, tmp_path):
    server = redis_factory(persistent=True)
    kernel = boot(f"sqlite:///{tmp_path / 'worker.db'}", redis_url=server.url, queue_name="restart-many")
    log = tmp_path / "runs.log"
    queue = kernel.queue
    tokens = [f"job{i:03d}" for i in range(JOBS)]
    ids = {queue.enqueue(recorded_job, token, str(log), 0.03): token for token in tokens}
    worker, output = start_worker(tmp_path, server.url, "restart-many")
    restarts = []
    try:
        for threshold in (JOBS // 4, JOBS // 2):
            wait_until(lambda t=threshold: sum(runs(log).values()) >= t, timeout=120, what=f"{threshold} jobs run")
            restarts.append(restart(server))
        deadline = time.monotonic() + 180
        while True:
            infos = [queue.get_job(i) for i in ids]
            if all(j.status is JobStatus.COMPLETED for j in infos) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        statuses = Counter(j.status.value for j in infos)
        assert statuses == {"completed": JOBS}, (statuses, [(j.id, j.status.value, j.error) for j in infos
                                                            if j.status is not JobStatus.COMPLETED],
                                                 output.read_text()[-6000:])
        assert [j.result for j in infos] == [f"{ids[j.id]} done" for j in infos]
        counted = runs(log)
        assert counted == Counter(dict.fromkeys(tokens, 1)), {t: n for t, n in counted.items() if n != 1}
        assert queue.active_jobs() == [] and queue.failed_jobs() == []
        text = output.read_text()
        report("rq_redis_restarted_twice", jobs=JOBS, restarts_s=[round(r, 2) for r in restarts],
               outcomes_recorded_late=text.count("recorded as finished now that Redis answers again"),
               put_back_unstarted=text.count("recorded as queued again now that Redis answers again"),
               ran_twice=sum(n > 1 for n in counted.values()), running_afterwards=0, lost=0)
    finally:
        kill_process(worker)
        kernel.close()
