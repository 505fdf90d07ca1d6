"""The queue driver contract on the memory queue and on RQ (``queue`` fixture), plus driver specifics.

RQ jobs run in a burst ``SimpleWorker`` in the test process (``drain``), in a worker thread,
or in a real worker subprocess (``python -c "... RqQueue(...).work(...)"``).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

from sublarr.core.errors import QueueUnavailable
from sublarr.drivers.base import JobStatus
from sublarr.drivers.memory_queue import MemoryQueue
from sublarr.drivers.rq_queue import RqQueue, check_importable
from tests.drivers import jobs_for_tests as jobs
from tests.drivers.conftest import drain, make_settings, wait_for, worker_env

pytestmark = pytest.mark.timeout(30)  # a deadlock fails the test instead of hanging the run


def _gate_name() -> str:
    return f"gate-{uuid.uuid4().hex[:8]}"


def test_job_runs_and_returns_its_result(queue):
    job_id = queue.enqueue(jobs.add, 2, b=3)
    drain(queue)
    job = wait_for(queue, job_id)
    assert job.status is JobStatus.COMPLETED
    assert job.result == 5
    assert job.error is None
    assert job.func_name == "tests.drivers.jobs_for_tests.add"
    assert job.enqueued_at <= job.started_at <= job.completed_at
    assert job.as_dict()["status"] == "completed"


def test_failing_job_keeps_its_error(queue):
    job_id = queue.enqueue(jobs.fail, "disk on fire")
    drain(queue)
    job = wait_for(queue, job_id)
    assert job.status is JobStatus.FAILED
    assert job.error == "ValueError: disk on fire"
    assert "Traceback" in job.meta["traceback"]
    assert [j.id for j in queue.failed_jobs()] == [job_id]


def test_failed_jobs_newest_first_with_limit_and_clear(queue):
    ids = []
    for n in range(3):
        ids.append(queue.enqueue(jobs.fail, f"boom {n}"))
        drain(queue)
        wait_for(queue, ids[-1])
    queue.enqueue(jobs.add, 1, 1)
    drain(queue)
    assert [j.id for j in queue.failed_jobs()] == ids[::-1]
    assert [j.error for j in queue.failed_jobs(limit=2)] == ["ValueError: boom 2", "ValueError: boom 1"]
    assert queue.failed_jobs(limit=0) == []
    assert queue.clear_failed() == 3
    assert queue.failed_jobs() == []
    assert queue.get_job(ids[0]) is None


def test_unknown_job(queue):
    assert queue.get_job("no-such-job") is None
    assert queue.cancel_job("no-such-job") is False


def test_explicit_job_id_and_duplicates(queue):
    gate = _gate_name()
    assert queue.enqueue(jobs.wait_for_gate, gate, job_id="import-42") == "import-42"
    with pytest.raises(ValueError, match="import-42"):
        queue.enqueue(jobs.add, 1, 1, job_id="import-42")  # still queued or running
    jobs.gate(gate).set()
    drain(queue)
    wait_for(queue, "import-42")
    # A finished job's id can be used again.
    assert queue.enqueue(jobs.add, 1, 1, job_id="import-42") == "import-42"
    drain(queue)
    assert wait_for(queue, "import-42").result == 2


def test_generated_ids_are_unique(queue):
    ids = {queue.enqueue(jobs.add, i, 0) for i in range(20)}
    assert len(ids) == 20
    drain(queue)
    assert sorted(wait_for(queue, i).result for i in ids) == list(range(20))


def test_info_and_queue_length(queue):
    info = queue.info()
    assert info["backend"] == queue.name
    if queue.name == "rq":
        assert info["healthy"] is True and info["queue_length"] == 0
        assert "queue_name" in info and info["workers"] == 0
        queue.enqueue(jobs.add, 1, 1)
        queue.enqueue(jobs.add, 1, 2)
        assert queue.queue_length() == 2
        drain(queue)
        assert queue.queue_length() == 0
    else:
        assert info["workers"] == 2 and info["tracked"] == 0


def test_cancel_a_queued_job(make_queue, queue_kind):
    """The legacy memory queue deadlocked here (lock held while the future's callback took it)."""
    queue = make_queue(queue_workers=1)
    gate = _gate_name()
    blocker = queue.enqueue(jobs.wait_for_gate, gate)
    if queue_kind == "memory":
        wait_for(queue, blocker, statuses={JobStatus.RUNNING})  # the only thread is busy
    waiting = queue.enqueue(jobs.add, 1, 1)
    assert queue.queue_length() >= 1

    result: list[bool] = []
    canceller = threading.Thread(target=lambda: result.append(queue.cancel_job(waiting)), daemon=True)
    canceller.start()
    canceller.join(timeout=5)
    assert not canceller.is_alive(), "cancel_job deadlocked"
    assert result == [True]
    assert queue.get_job(waiting).status is JobStatus.CANCELLED
    assert queue.cancel_job(waiting) is False  # already cancelled

    jobs.gate(gate).set()
    drain(queue)
    assert wait_for(queue, blocker).status is JobStatus.COMPLETED
    time.sleep(0.05)
    assert queue.get_job(waiting).status is JobStatus.CANCELLED  # it never ran
    assert queue.cancel_job(blocker) is False  # finished jobs cannot be cancelled


def test_memory_cancel_of_a_running_job_is_refused():
    queue = MemoryQueue(make_settings(queue_workers=1))
    gate = _gate_name()
    try:
        job_id = queue.enqueue(jobs.wait_for_gate, gate)
        wait_for(queue, job_id, statuses={JobStatus.RUNNING})
        assert queue.cancel_job(job_id) is False
        assert [j.id for j in queue.active_jobs()] == [job_id]
        assert queue.info()["running"] == 1
        jobs.gate(gate).set()
        assert wait_for(queue, job_id).status is JobStatus.COMPLETED
        assert queue.active_jobs() == []
    finally:
        jobs.gate(gate).set()
        queue.close()


def test_memory_cancel_races_with_threads():
    """Cancel many jobs while the threads pick them up: each job either runs or is cancelled, never both."""
    queue = MemoryQueue(make_settings(queue_workers=4))
    try:
        ids = [queue.enqueue(jobs.sleep, 0.001) for _ in range(300)]
        cancelled = {job_id for job_id in ids if queue.cancel_job(job_id)}
        for job_id in ids:
            job = wait_for(queue, job_id)
            expected = JobStatus.CANCELLED if job_id in cancelled else JobStatus.COMPLETED
            assert job.status is expected
            assert (job.started_at is None) == (job_id in cancelled)
    finally:
        queue.close()


def test_memory_retention_prunes_finished_jobs():
    queue = MemoryQueue(make_settings(queue_job_retention_seconds=1))
    try:
        done = queue.enqueue(jobs.add, 1, 1)
        failed = queue.enqueue(jobs.fail, "x")
        wait_for(queue, done)
        wait_for(queue, failed)
        gate = _gate_name()
        running = queue.enqueue(jobs.wait_for_gate, gate)
        wait_for(queue, running, statuses={JobStatus.RUNNING})
        assert queue.info()["tracked"] == 3
        time.sleep(1.2)
        assert queue.get_job(done) is None
        assert queue.failed_jobs() == []
        assert queue.get_job(running).status is JobStatus.RUNNING  # live jobs are never pruned
        jobs.gate(gate).set()
        wait_for(queue, running)
    finally:
        queue.close()


def test_memory_close_waits_or_cancels():
    queue = MemoryQueue(make_settings(queue_workers=1))
    gate = _gate_name()
    running = queue.enqueue(jobs.wait_for_gate, gate)
    wait_for(queue, running, statuses={JobStatus.RUNNING})
    queued = [queue.enqueue(jobs.add, i, 1) for i in range(3)]
    jobs.gate(gate).set()
    queue.close(wait=True)  # runs what is queued, then stops
    assert [queue.get_job(i).status for i in queued] == [JobStatus.COMPLETED] * 3
    with pytest.raises(QueueUnavailable, match="closed"):
        queue.enqueue(jobs.add, 1, 1)

    queue = MemoryQueue(make_settings(queue_workers=1))
    gate = _gate_name()
    running = queue.enqueue(jobs.wait_for_gate, gate)
    wait_for(queue, running, statuses={JobStatus.RUNNING})
    queued = [queue.enqueue(jobs.add, i, 1) for i in range(3)]
    queue.close(wait=False)  # queued jobs are cancelled, the running one finishes in its thread
    assert [queue.get_job(i).status for i in queued] == [JobStatus.CANCELLED] * 3
    jobs.gate(gate).set()
    assert wait_for(queue, running).status is JobStatus.COMPLETED


def test_memory_work_returns_when_stop_is_true():
    queue = MemoryQueue(make_settings())
    stop = threading.Event()
    thread = threading.Thread(target=queue.work, args=(stop.is_set,), daemon=True)
    thread.start()
    job_id = queue.enqueue(jobs.add, 1, 2)
    assert wait_for(queue, job_id).result == 3
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()
    queue.close()


def test_list_jobs_by_status_newest_first_and_counts(make_queue, queue_kind):
    queue = make_queue(queue_workers=1)
    done = queue.enqueue(jobs.add, 1, 1)
    drain(queue)
    wait_for(queue, done)
    failed = queue.enqueue(jobs.fail, "listed")
    drain(queue)
    wait_for(queue, failed)
    gate = _gate_name()
    running = []
    if queue_kind == "memory":  # RQ jobs run only while a worker drains the queue
        running = [queue.enqueue(jobs.wait_for_gate, gate)]
        wait_for(queue, running[0], statuses={JobStatus.RUNNING})
    try:
        waiting = queue.enqueue(jobs.add, 2, 2)
        cancelled = queue.enqueue(jobs.add, 3, 3)
        assert queue.cancel_job(cancelled) is True

        assert [j.id for j in queue.list_jobs()] == [cancelled, waiting, *running, failed, done]
        assert [j.id for j in queue.list_jobs(limit=2)] == [cancelled, waiting]
        by_status = {s: [j.id for j in queue.list_jobs(status=s)] for s in JobStatus}
        assert by_status == {JobStatus.QUEUED: [waiting], JobStatus.RUNNING: running, JobStatus.FAILED: [failed],
                             JobStatus.COMPLETED: [done], JobStatus.CANCELLED: [cancelled]}
        assert [j.error for j in queue.list_jobs(status="failed")] == ["ValueError: listed"]
        assert queue.job_counts() == {"queued": 1, "running": len(running), "failed": 1}
        with pytest.raises(ValueError, match="unknown job status 'lost'; one of queued, running"):
            queue.list_jobs(status="lost")
        assert queue.list_jobs(limit=0) == []
    finally:
        jobs.gate(gate).set()


def test_retry_a_failed_and_a_cancelled_job(make_queue, queue_kind, tmp_path):
    queue = make_queue(queue_workers=1)
    flag = tmp_path / "fixed"
    failing = queue.enqueue(jobs.fail_unless_exists, str(flag))
    drain(queue)
    assert wait_for(queue, failing).status is JobStatus.FAILED
    gate = _gate_name()
    blocker = queue.enqueue(jobs.wait_for_gate, gate)
    if queue_kind == "memory":
        wait_for(queue, blocker, statuses={JobStatus.RUNNING})
    cancelled = queue.enqueue(jobs.add, 4, 5)
    assert queue.cancel_job(cancelled)

    assert queue.retry_job(blocker) is False  # queued or running: nothing to retry
    assert queue.retry_job("no-such-job") is False
    flag.touch()  # what made it fail is repaired
    assert queue.retry_job(failing) is True
    assert queue.retry_job(cancelled) is True
    assert queue.retry_job(failing) is False  # queued again already
    assert queue.get_job(cancelled).status in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.COMPLETED)
    jobs.gate(gate).set()
    drain(queue)
    assert wait_for(queue, failing).status is JobStatus.COMPLETED
    assert wait_for(queue, failing).result == str(flag)
    assert wait_for(queue, cancelled).result == 9
    assert queue.failed_jobs() == [] and queue.job_counts()["failed"] == 0
    assert queue.retry_job(cancelled) is False  # completed


# -- rq specifics -------------------------------------------------------------------------------

def _local_function():
    return 1


def test_rq_rejects_jobs_a_worker_cannot_import(redis_url, namespace):
    """RQ workers import jobs by name (the memory queue runs any callable)."""
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=f"sublarr-test-{namespace}"))

    def nested():
        return 1

    with pytest.raises(ValueError, match="lambda"):
        queue.enqueue(lambda: 1)
    with pytest.raises(ValueError, match="nested"):
        queue.enqueue(nested)
    fake = functools.wraps(_local_function)(lambda: 2)  # claims a name that is another object
    with pytest.raises(ValueError, match="another object"):
        queue.enqueue(fake)
    with pytest.raises(TypeError):
        queue.enqueue("tests.drivers.jobs_for_tests.add")
    assert queue.queue_length() == 0
    check_importable(jobs.add)  # module-level functions pass
    queue.close()


def test_job_kwargs_named_like_rq_options_reach_the_job(queue):
    # RQ's enqueue() would take these as its own options; the driver passes them to the job.
    job_id = queue.enqueue(jobs.echo_kwargs, timeout=3, description="d", meta="m", ttl=1)
    drain(queue)
    assert wait_for(queue, job_id).result == {"timeout": 3, "description": "d", "meta": "m", "ttl": 1}


def test_rq_active_jobs_and_worker_in_a_thread(redis_url, namespace):
    """work() in a non-main thread: no signal handlers, timer-based timeouts, stops on stop()."""
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=f"sublarr-test-{namespace}"))
    stop = threading.Event()
    gate = _gate_name()
    thread = threading.Thread(target=queue.work, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        job_id = queue.enqueue(jobs.wait_for_gate, gate)
        wait_for(queue, job_id, statuses={JobStatus.RUNNING})
        assert [j.id for j in queue.active_jobs()] == [job_id]
        assert queue.cancel_job(job_id) is False  # running
        assert queue.info()["workers"] == 1
        jobs.gate(gate).set()
        assert wait_for(queue, job_id).result == gate
        assert queue.active_jobs() == []
    finally:
        jobs.gate(gate).set()
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive(), "the worker did not stop within 5 s of stop()"
    assert queue.info()["workers"] == 0  # it unregistered itself
    queue.close()


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
def test_rq_worker_logs_at_the_application_level(redis_url, namespace, level, caplog):
    """RQ sets its worker logger to INFO on import; the driver's worker follows the root level
    (``log_level`` under ``sublarr run``/``worker``) instead."""
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=f"sublarr-test-{namespace}"))
    root = logging.getLogger()
    before = root.level
    root.setLevel(level)
    try:
        queue.enqueue(jobs.add, 1, 2)
        queue.work(stop=lambda: True, burst=True, worker_class="simple")
    finally:
        root.setLevel(before)
        queue.close()
    assert logging.getLogger("rq.worker").level == level
    assert ("Job OK" in caplog.text) == (level == logging.DEBUG)


def test_rq_fork_worker_class(redis_url, namespace):
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=f"sublarr-test-{namespace}"),
                    worker_class="fork")
    job_id = queue.enqueue(jobs.process_id)
    queue.work(stop=lambda: True, burst=True)
    assert wait_for(queue, job_id).result != os.getpid()  # ran in a forked horse
    simple = queue.enqueue(jobs.process_id)
    queue.work(stop=lambda: True, burst=True, worker_class="simple")
    assert wait_for(queue, simple).result == os.getpid()
    with pytest.raises(ValueError, match="worker_class"):
        queue.work(stop=lambda: True, burst=True, worker_class="threads")
    queue.close()


WORKER_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from sublarr.core.settings import load_settings
from sublarr.drivers.rq_queue import RqQueue
queue = RqQueue(load_settings({"redis_url": sys.argv[1], "queue_name": sys.argv[2]}, settings_files=[]))
print("ready", flush=True)
queue.work(stop=lambda: False)
print("stopped", flush=True)
"""


def start_worker_process(url: str, queue_name: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, url, queue_name], env=worker_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_rq_worker_subprocess_runs_jobs_and_stops_on_signal(redis_url, namespace, sig):
    """A real worker process: SIGTERM arrives while a job runs (warm shutdown: the job finishes),
    SIGINT while it is idle (it stops at once)."""
    name = f"sublarr-test-{namespace}"
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=name))
    process = start_worker_process(redis_url, name)
    try:
        ids = [queue.enqueue(jobs.add, i, i) for i in range(5)] + [queue.enqueue(jobs.fail, "in a worker")]
        results = [wait_for(queue, job_id) for job_id in ids]
        assert [r.result for r in results[:5]] == [0, 2, 4, 6, 8]
        assert results[5].error == "ValueError: in a worker"
        assert queue.info()["workers"] == 1
        last = None
        if sig == signal.SIGTERM:
            last = queue.enqueue(jobs.sleep, 1.0)
            wait_for(queue, last, statuses={JobStatus.RUNNING})
        process.send_signal(sig)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "stopped" in out
    assert f"signal {sig.name}" in err
    if last is not None:
        assert queue.get_job(last).status is JobStatus.COMPLETED
    assert queue.info()["workers"] == 0
    queue.close()
