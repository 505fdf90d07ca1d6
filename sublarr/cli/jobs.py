"""``sublarr jobs``: list, show, retry, cancel and clear the queue's jobs, through the queue driver API.

Only a queue whose jobs live outside any one process (``worker_processes``: rq) can be read from this
command's own process. The memory queue keeps its jobs inside the `sublarr run` process that enqueued
them, so a separate `sublarr jobs` would see an empty queue of its own: it says so instead (exit 2),
rather than print "no jobs" while `sublarr run` has some.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from sublarr.cli.api import ArgumentError, Context, echo_json, pass_context, table
from sublarr.core.errors import SettingsError, SublarrError
from sublarr.core.secrets import scrub
from sublarr.drivers.base import RETRYABLE_STATUSES, JobInfo, JobStatus, QueueDriver

STATUSES = [s.value for s in JobStatus]
_ERROR_WIDTH = 70  # characters of a job's error shown by `jobs list`


def not_shared(queue: QueueDriver) -> str | None:
    """Why this process cannot see ``queue``'s jobs, or None when it can."""
    if queue.worker_processes:
        return None
    return (f"the {queue.name!r} queue keeps its jobs inside the `sublarr run` process, so no other process can "
            f"see them; to manage jobs from the command line use a queue shared between processes, such as rq "
            f"(set redis_url / SUBLARR_REDIS_URL)")


def status_counts(kernel) -> dict[str, Any]:
    """``sublarr status``'s job counts: ``{queued, running, failed}``, or ``{"unavailable": why}``."""
    why = not_shared(kernel.queue)
    if why is not None:
        return {"unavailable": why}
    try:
        return kernel.queue.job_counts()
    except (SublarrError, NotImplementedError) as exc:  # Redis down: status reports, never fails
        return {"unavailable": scrub(str(exc))}


@contextlib.contextmanager
def _queue(obj: Context) -> Iterator[QueueDriver]:
    """The configured queue, if this process can see its jobs; a driver without the job API is a failure."""
    queue = obj.boot().queue
    why = not_shared(queue)
    if why is not None:
        raise SettingsError("queue_driver", why)
    try:
        yield queue
    except NotImplementedError as exc:
        raise SublarrError(str(exc)) from None


def _job(queue: QueueDriver, job_id: str) -> JobInfo:
    job = queue.get_job(job_id)
    if job is None:
        raise ArgumentError(f"no job with id {job_id!r} (finished jobs are kept for queue_job_retention_seconds)")
    return job


def _shown(job: JobInfo) -> dict[str, Any]:
    """A job for people and JSON: errors and tracebacks scrubbed of secrets."""
    data = job.as_dict()
    data["error"] = scrub(job.error) if job.error else job.error
    trace = job.meta.get("traceback")
    data["traceback"] = scrub(trace) if trace else None
    return data


def _one_line(text: str | None, width: int = _ERROR_WIDTH) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[:width - 1] + "…"


@click.group("jobs")
def jobs() -> None:
    """The job queue: list, show, retry, cancel, clear-failed.

    Needs a queue shared between processes (rq): the memory queue's jobs exist only inside `sublarr run`.
    """


@jobs.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="only jobs with this status")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=50, show_default=True,
              help="at most this many jobs")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_jobs(obj: Context, status: str | None, limit: int, as_json: bool) -> None:
    """Jobs, the most recently changed first (finished ones for queue_job_retention_seconds)."""
    with _queue(obj) as queue:
        found = [_shown(job) for job in queue.list_jobs(status=status, limit=limit)]
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo(f"no {status} jobs" if status else "no jobs")
        return
    click.echo(table([[j["id"], j["status"], j["func_name"], j["enqueued_at"], j["completed_at"] or j["started_at"],
                       _one_line(j["error"])] for j in found],
                     ["id", "status", "function", "enqueued", "started/ended", "error"]))


@jobs.command("show")
@click.argument("job_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def show_job(obj: Context, job_id: str, as_json: bool) -> None:
    """One job: its times, result, and the error and traceback of a failure."""
    with _queue(obj) as queue:
        data = _shown(_job(queue, job_id))
    if as_json:
        echo_json(data)
        return
    for key in ("id", "status", "func_name", "enqueued_at", "started_at", "completed_at"):
        click.echo(f"{key:<13} {data[key] or '-'}")
    if data["status"] == JobStatus.COMPLETED.value:
        click.echo(f"{'result':<13} {data['result']!r}")
    if data["error"]:
        click.echo(f"{'error':<13} {data['error']}")
    if data["traceback"]:
        click.echo("traceback:\n" + data["traceback"].rstrip())


@jobs.command("retry")
@click.argument("job_id", metavar="ID")
@pass_context
def retry_job(obj: Context, job_id: str) -> None:
    """Queue a failed or cancelled job again (same id, function and arguments)."""
    with _queue(obj) as queue:
        job = _job(queue, job_id)
        if job.status not in RETRYABLE_STATUSES or not queue.retry_job(job_id):
            now = queue.get_job(job_id) or job
            raise SublarrError(f"job {job_id} is {now.status}: only a failed or cancelled job can be retried")
    click.echo(f"job {job_id} ({job.func_name}) queued again")


@jobs.command("cancel")
@click.argument("job_id", metavar="ID")
@pass_context
def cancel_job(obj: Context, job_id: str) -> None:
    """Cancel a queued job (a running job is not interrupted)."""
    with _queue(obj) as queue:
        job = _job(queue, job_id)
        if not queue.cancel_job(job_id):
            now = queue.get_job(job_id) or job
            raise SublarrError(f"job {job_id} is {now.status}: only a queued job can be cancelled")
    click.echo(f"job {job_id} ({job.func_name}) cancelled")


@jobs.command("clear-failed")
@pass_context
def clear_failed(obj: Context) -> None:
    """Forget every failed job."""
    with _queue(obj) as queue:
        cleared = queue.clear_failed()
    click.echo(f"{cleared} failed job{'' if cleared == 1 else 's'} cleared")
