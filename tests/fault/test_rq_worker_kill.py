"""An RQ worker (``sublarr worker``) killed with SIGKILL in the middle of a job.

RQ's rule (rq 3.x, ``rq/executions.py`` + ``StartedJobRegistry.cleanup``): a job that starts gets
an entry in the queue's StartedJobRegistry scored ``start + min(job timeout,
job_monitoring_interval) + 60`` seconds, which the worker's heartbeats push forward while it
lives. A worker that dies stops the heartbeats; once the score has passed, the next registry
cleanup (any worker's maintenance, every ``maintenance_interval`` = 10 min by default) moves the
job to the FailedJobRegistry with ``AbandonedJobError``. The forking worker notices a killed
work-horse at once instead.

To avoid waiting minutes, the test runs ``StartedJobRegistry.cleanup(timestamp)`` itself, at the
entry's own expiry score (RQ's public API for exactly this); it first checks that a cleanup at
"now" does NOT touch the job, so the rule, not the test, decides when a job counts as abandoned.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from sublarr.drivers.base import JobStatus
from tests.conftest import boot
from tests.fault.conftest import add_job, kill_process, report, slow_job, subprocess_env
from tests.polling import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.timeout(240)]

JOB_TIMEOUT = 5  # queue_job_timeout_seconds: the started-registry entry lives timeout + 60 s


def start_worker(tmp_path, redis_url: str, queue_name: str, *flags: str) -> subprocess.Popen:
    env = subprocess_env(SUBLARR_DB_PATH=str(tmp_path / "worker.db"), SUBLARR_REDIS_URL=redis_url,
                         SUBLARR_QUEUE_NAME=queue_name, SUBLARR_QUEUE_JOB_TIMEOUT_SECONDS=str(JOB_TIMEOUT),
                         SUBLARR_LOG_LEVEL="INFO")
    return subprocess.Popen([sys.executable, "-m", "sublarr.cli", "worker", *flags], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.parametrize("worker_class", ["simple", "fork"])
def test_killed_worker_leaves_a_failed_job_and_a_new_worker_carries_on(redis_factory, tmp_path, worker_class):
    from redis import Redis
    from rq.registry import StartedJobRegistry

    server = redis_factory()
    queue_name = f"kill-{worker_class}"
    kernel = boot(f"sqlite:///{tmp_path / 'worker.db'}", redis_url=server.url, queue_name=queue_name,
                  queue_job_timeout_seconds=JOB_TIMEOUT)
    marker = tmp_path / "started"
    worker = start_worker(tmp_path, server.url, queue_name, *(["--fork"] if worker_class == "fork" else []))
    try:
        queue = kernel.queue
        victim = queue.enqueue(slow_job, 120, str(marker))
        behind = [queue.enqueue(add_job, i, 100) for i in range(5)]
        wait_until(marker.exists, timeout=60, what="the slow job started in the worker")
        assert queue.get_job(victim).status is JobStatus.RUNNING
        runner = int(marker.read_text())  # the process running the job: the worker, or its work-horse
        if worker_class == "simple":
            assert runner == worker.pid
        else:
            assert runner in {c.pid for c in psutil.Process(worker.pid).children()}
        killed_at = time.monotonic()
        if worker_class == "simple":
            kill_process(worker)  # SIGKILL the worker with its job
        else:
            psutil.Process(runner).send_signal(signal.SIGKILL)  # the work-horse dies; its worker lives

        connection = Redis.from_url(server.url)
        registry = StartedJobRegistry(name=queue_name, connection=connection)
        if worker_class == "simple":
            # nobody heartbeats the job any more, but its entry has not expired: not abandoned yet
            entries = {m.decode(): s for m, s in connection.zrange(registry.key, 0, -1, withscores=True)}
            mine = [score for member, score in entries.items() if member.startswith(f"{victim}:")]
            assert len(mine) == 1, entries
            expires = mine[0]
            assert 0 < expires - time.time() <= JOB_TIMEOUT + 60 + 1
            registry.cleanup(timestamp=time.time())
            assert queue.get_job(victim).status is JobStatus.RUNNING
            assert victim not in [j.id for j in queue.failed_jobs()]
            registry.cleanup(timestamp=expires + 0.001)  # what RQ's maintenance does once the entry expired
        failed = wait_until(lambda: [j for j in queue.failed_jobs() if j.id == victim], timeout=60,
                            what="the killed job in the failed registry")
        noticed_after = time.monotonic() - killed_at
        job = failed[0]
        assert job.status is JobStatus.FAILED
        assert job.error and ("Abandoned" in job.error or "horse" in job.error.lower()), job.error
        assert queue.get_job(victim).status is JobStatus.FAILED
        assert [queue.get_job(j).status for j in behind] == [JobStatus.QUEUED] * 5 or worker_class == "fork"

        # a new worker (or the surviving forking worker) carries on with the jobs behind
        if worker_class == "simple":
            worker = start_worker(tmp_path, server.url, queue_name, "--burst")
            output, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0, output[-3000:]
        wait_until(lambda: all(queue.get_job(j).status is JobStatus.COMPLETED for j in behind), timeout=60,
                   what="the jobs behind the killed one completed")
        assert [queue.get_job(j).result for j in behind] == [100 + i for i in range(5)]
        after = queue.enqueue(add_job, 1, 1)
        if worker_class == "simple":
            queue.work(stop=lambda: True, burst=True)
        wait_until(lambda: queue.get_job(after).status is JobStatus.COMPLETED, timeout=60, what="a new job")
        assert [j.id for j in queue.failed_jobs()] == [victim]
        report(f"rq_worker_sigkill_{worker_class}", job_timeout_s=JOB_TIMEOUT,
               failed_registry_after_s=round(noticed_after, 2), jobs_behind_completed=len(behind),
               failed_error=job.error, completed_at=job.completed_at, lost=0)
    finally:
        kill_process(worker)
        kernel.close()
