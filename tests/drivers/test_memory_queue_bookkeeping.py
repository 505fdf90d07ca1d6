"""The memory queue's bookkeeping: live counts kept per status change, finished jobs pruned by retention
from the oldest, memory bounded by the retention window (issue 18, item 1).

Retention is measured on the queue's ``_clock``; these tests give it a fake clock and move it by hand,
so nothing here sleeps or asserts a duration.
"""

from __future__ import annotations

import gc
import re
import threading
import uuid
import weakref

import pytest

from sublarr.drivers.base import JobStatus
from sublarr.drivers.memory_queue import MemoryQueue
from tests.drivers import jobs_for_tests as jobs
from tests.drivers.conftest import make_settings, wait_for
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(30)

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Payload:
    """A job result that can be watched with a weak reference."""


def make_payload() -> Payload:
    return Payload()


@pytest.fixture
def make():
    made: list[MemoryQueue] = []
    gates: list[str] = []

    def build(clock: FakeClock | None = None, **overrides) -> MemoryQueue:
        queue = MemoryQueue(make_settings(**overrides))
        if clock is not None:
            queue._clock = clock
        made.append(queue)
        return queue

    build.gates = gates
    yield build
    for name in gates:
        jobs.gate(name).set()
    for queue in made:
        queue.close(wait=False)


def _blocked(make, queue: MemoryQueue) -> tuple[str, str]:
    """Occupy the queue's only thread with a job held on a gate; (job id, gate)."""
    gate = f"gate-{uuid.uuid4().hex[:8]}"
    make.gates.append(gate)
    job_id = queue.enqueue(jobs.wait_for_gate, gate)
    wait_for(queue, job_id, statuses={JobStatus.RUNNING})
    return job_id, gate


def _idle(queue: MemoryQueue) -> None:
    """Wait until nothing is queued or running (works with retention 0, where get_job finds nothing)."""
    wait_until(lambda: queue.info()["queued"] == 0 and queue.info()["running"] == 0, what="queue drained")


def _counts(queue: MemoryQueue) -> tuple[int, int, int]:
    info = queue.info()
    assert queue.queue_length() == info["queued"]
    assert len(queue.active_jobs()) == info["running"]
    return info["queued"], info["running"], info["tracked"]


def test_counts_follow_every_status_change(make):
    queue = make(queue_workers=1)
    assert _counts(queue) == (0, 0, 0)
    blocker, gate = _blocked(make, queue)
    assert _counts(queue) == (0, 1, 1)
    ok = queue.enqueue(jobs.add, 1, 1)
    bad = queue.enqueue(jobs.fail, "no")
    doomed = queue.enqueue(jobs.add, 2, 2)
    assert _counts(queue) == (3, 1, 4)
    assert queue.cancel_job(doomed) is True
    assert _counts(queue) == (2, 1, 4)  # a cancelled job is finished: still tracked, no longer queued
    assert queue.cancel_job(doomed) is False
    assert _counts(queue) == (2, 1, 4)  # a second cancel counts nothing twice
    assert queue.cancel_job(blocker) is False  # running
    assert [j.id for j in queue.active_jobs()] == [blocker]
    jobs.gate(gate).set()
    for job_id in (blocker, ok, bad):
        wait_for(queue, job_id)
    assert _counts(queue) == (0, 0, 4)
    assert [j.id for j in queue.failed_jobs()] == [bad]
    assert queue.get_job(doomed).status is JobStatus.CANCELLED
    assert queue.get_job(doomed).started_at is None
    assert queue.clear_failed() == 1
    assert _counts(queue) == (0, 0, 3)
    assert queue.clear_failed() == 0


def test_snapshots_keep_the_kernel_timestamp_format_and_are_copies(make):
    queue = make()
    job_id = queue.enqueue(jobs.fail, "x", job_id="fmt")
    job = wait_for(queue, job_id)
    for stamp in (job.enqueued_at, job.started_at, job.completed_at):
        assert ISO.fullmatch(stamp), stamp
    assert job.enqueued_at <= job.started_at <= job.completed_at
    job.meta["traceback"] = "changed by a caller"
    job.status = JobStatus.COMPLETED
    again = queue.get_job(job_id)
    assert again.status is JobStatus.FAILED and "ValueError: x" in again.meta["traceback"]
    assert re.fullmatch(r"[0-9a-f]{12}", queue.enqueue(jobs.add, 1, 1))  # generated ids: 12 hex digits


def test_retention_zero_drops_finished_jobs_at_once(make):
    queue = make(queue_workers=1, queue_job_retention_seconds=0)
    blocker, gate = _blocked(make, queue)
    waiting = queue.enqueue(jobs.add, 1, 1)
    failing = queue.enqueue(jobs.fail, "gone")
    assert _counts(queue) == (2, 1, 3)
    # cancelling a queued job does not deadlock, and the job leaves the books at once
    result: list[bool] = []
    canceller = threading.Thread(target=lambda: result.append(queue.cancel_job(waiting)), daemon=True)
    canceller.start()
    canceller.join(timeout=5)
    assert not canceller.is_alive(), "cancel_job deadlocked"
    assert result == [True]
    assert queue.get_job(waiting) is None
    assert queue.cancel_job(waiting) is False
    assert _counts(queue) == (1, 1, 2)
    jobs.gate(gate).set()
    _idle(queue)
    assert _counts(queue) == (0, 0, 0)
    assert queue.get_job(blocker) is None and queue.get_job(failing) is None
    assert queue.failed_jobs() == [] and queue.clear_failed() == 0
    assert len(queue._finished) == 0  # nothing kept behind the counts either
    # the id of a dropped job can be used again
    assert queue.enqueue(jobs.add, 1, 1, job_id=waiting) == waiting
    _idle(queue)


def test_retention_prunes_oldest_first_and_keeps_the_rest(make):
    clock = FakeClock()
    queue = make(clock, queue_job_retention_seconds=10)
    early = [queue.enqueue(jobs.add, i, 0) for i in range(3)]
    early_fail = queue.enqueue(jobs.fail, "early")
    for job_id in early + [early_fail]:
        wait_for(queue, job_id)
    clock.now += 5
    late = queue.enqueue(jobs.add, 9, 0)
    late_fail = queue.enqueue(jobs.fail, "late")
    wait_for(queue, late)
    wait_for(queue, late_fail)
    assert _counts(queue) == (0, 0, 6)
    assert [j.id for j in queue.failed_jobs()] == [late_fail, early_fail]

    clock.now += 4  # the early jobs are 9 s old
    assert _counts(queue) == (0, 0, 6)
    clock.now += 1  # 10 s: gone (a reading prunes, no enqueue needed)
    assert all(queue.get_job(job_id) is None for job_id in early + [early_fail])
    assert queue.get_job(late).result == 9
    assert [j.id for j in queue.failed_jobs()] == [late_fail]
    assert _counts(queue) == (0, 0, 2)

    clock.now += 5
    assert _counts(queue) == (0, 0, 0)
    assert queue.failed_jobs() == [] and queue.get_job(late) is None


def test_live_jobs_are_never_pruned(make):
    clock = FakeClock()
    queue = make(clock, queue_workers=1, queue_job_retention_seconds=1)
    blocker, gate = _blocked(make, queue)
    waiting = queue.enqueue(jobs.add, 1, 1)
    clock.now += 3600
    assert queue.get_job(blocker).status is JobStatus.RUNNING
    assert queue.get_job(waiting).status is JobStatus.QUEUED
    assert _counts(queue) == (1, 1, 2)
    jobs.gate(gate).set()
    assert wait_for(queue, waiting).result == 2  # finished "now": retained for a second of the fake clock
    assert _counts(queue) == (0, 0, 2)
    clock.now += 1
    assert _counts(queue) == (0, 0, 0)


def test_a_reused_id_is_not_pruned_by_the_record_of_the_job_it_replaced(make):
    clock = FakeClock()
    queue = make(clock, queue_job_retention_seconds=10)
    wait_for(queue, queue.enqueue(jobs.fail, "first", job_id="x"))
    wait_for(queue, queue.enqueue(jobs.fail, "first", job_id="y"))
    assert queue.clear_failed() == 2
    clock.now += 5
    assert wait_for(queue, queue.enqueue(jobs.add, 1, 1, job_id="x")).result == 2  # after clear_failed
    assert wait_for(queue, queue.enqueue(jobs.add, 2, 2, job_id="y")).result == 4
    wait_for(queue, queue.enqueue(jobs.fail, "z1", job_id="z"))
    assert queue.enqueue(jobs.add, 3, 3, job_id="z") == "z"  # replaces a failed job that was not cleared
    assert wait_for(queue, "z").result == 6
    assert queue.failed_jobs() == []  # the replaced failure is no longer listed
    clock.now += 5  # the first x and y expire; their records must not take the new x and y along
    assert queue.get_job("x").result == 2 and queue.get_job("y").result == 4
    assert _counts(queue) == (0, 0, 3)
    clock.now += 5
    assert _counts(queue) == (0, 0, 0)
    assert len(queue._finished) == 0


def test_memory_is_bounded_by_the_retention_window(make):
    """Batches of jobs, the clock moving 6 s between them, retention 10 s: at most two batches are kept,
    however many jobs have run, and a pruned job's result is released."""
    clock = FakeClock()
    queue = make(clock, queue_job_retention_seconds=10)
    batch = 300
    results: list[weakref.ref] = []
    for round_ in range(8):
        ids = [queue.enqueue(make_payload) for _ in range(batch)]
        _idle(queue)
        if round_ == 0:
            results = [weakref.ref(queue.get_job(job_id).result) for job_id in ids]
        queued, running, tracked = _counts(queue)
        assert (queued, running) == (0, 0)
        assert tracked == min(round_ + 1, 2) * batch
        assert len(queue._finished) == tracked  # the deque holds no more than the books
        clock.now += 6
    gc.collect()
    assert not any(ref() is not None for ref in results)  # the first batch's results were freed
    clock.now += 10
    assert _counts(queue) == (0, 0, 0)
    assert len(queue._finished) == 0 and queue._failed == {} and queue._queued == {} and queue._running == {}


def test_close_without_wait_counts_the_cancelled_jobs(make):
    queue = make(queue_workers=1)
    blocker, gate = _blocked(make, queue)
    queued = [queue.enqueue(jobs.add, i, 1) for i in range(5)]
    queue.close(wait=False)
    assert [queue.get_job(i).status for i in queued] == [JobStatus.CANCELLED] * 5
    jobs.gate(gate).set()
    wait_for(queue, blocker)
    assert _counts(queue) == (0, 0, 6)
