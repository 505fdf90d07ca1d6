"""``sublarr jobs`` and the job counts of ``sublarr status``, on every storage driver.

RQ jobs sit in the real Redis (the test DB, one queue name per test) and run in real
``sublarr worker --burst`` processes; the commands run in this process (a kernel of their own, so
they see the jobs only through Redis) and once as a separate process. The memory queue's jobs
live only inside ``sublarr run``: the commands say so (exit 2) instead of listing nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

import sublarr.cli
from sublarr.drivers.rq_queue import RqQueue
from tests.conftest import boot
from tests.drivers import jobs_for_tests as jobs
from tests.drivers.conftest import make_settings, worker_env

pytestmark = pytest.mark.timeout(180)


def run_cli(settings: str, *args: str) -> int:
    try:
        sublarr.cli.main(["--settings", settings, *args])
    except SystemExit as exc:
        return exc.code
    return 0


def sublarr_process(settings: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sublarr.cli", "--settings", settings, *args],
                          env=env or worker_env(), capture_output=True, text=True, timeout=120)


@pytest.fixture
def rq_setup(database_url, redis_url, tmp_path):
    """(settings file, queue) for a fresh RQ queue in the test Redis DB, on the test's database."""
    name = f"sublarr-test-jobs-{uuid.uuid4().hex[:10]}"
    path = tmp_path / "settings.toml"
    path.write_text(f"database_url = {json.dumps(database_url)}\nredis_url = {json.dumps(redis_url)}\n"
                    f"queue_name = {json.dumps(name)}\n")
    queue = RqQueue(make_settings(redis_url=redis_url, queue_name=name))
    yield str(path), queue
    queue.clear_failed()
    queue.close()


def burst(settings: str) -> None:
    done = sublarr_process(settings, "worker", "--burst")
    assert done.returncode == 0, done.stderr[-3000:]


def test_jobs_commands_on_rq_across_processes(rq_setup, tmp_path, capsys):
    settings, queue = rq_setup
    flag = tmp_path / "repaired"
    ok = queue.enqueue(jobs.add, 2, 3)
    failing = queue.enqueue(jobs.fail_unless_exists, str(flag))
    burst(settings)
    waiting = queue.enqueue(jobs.add, 20, 22)

    # Another process sees what this one enqueued and what the worker did.
    listed = sublarr_process(settings, "jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [(j["id"], j["status"]) for j in json.loads(listed.stdout)] == [
        (waiting, "queued"), (failing, "failed"), (ok, "completed")]

    assert run_cli(settings, "jobs", "list", "--status", "failed") == 0
    out = capsys.readouterr().out
    assert failing in out and "FileNotFoundError: not there yet" in out and ok not in out
    assert run_cli(settings, "jobs", "list", "--limit", "1", "--json") == 0
    assert [j["id"] for j in json.loads(capsys.readouterr().out)] == [waiting]

    assert run_cli(settings, "jobs", "show", failing) == 0
    out = capsys.readouterr().out
    assert "status        failed" in out and "tests.drivers.jobs_for_tests.fail_unless_exists" in out
    assert f"error         FileNotFoundError: not there yet: {flag}" in out
    assert "traceback:\nTraceback (most recent call last)" in out
    assert run_cli(settings, "jobs", "show", ok, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["result"], shown["error"], shown["traceback"]) == ("completed", 5, None, None)

    assert run_cli(settings, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["jobs"] == {"queued": 1, "running": 0, "failed": 1}
    assert run_cli(settings, "status") == 0
    assert "jobs      queued=1, running=0, failed=1" in capsys.readouterr().out

    assert run_cli(settings, "jobs", "cancel", waiting) == 0
    assert f"job {waiting} (tests.drivers.jobs_for_tests.add) cancelled" in capsys.readouterr().out
    assert run_cli(settings, "jobs", "cancel", waiting) == 1
    assert capsys.readouterr().err == (f"sublarr: error: job {waiting} is cancelled: only a queued job can be "
                                       f"cancelled\n")
    assert run_cli(settings, "jobs", "retry", ok) == 1
    assert "is completed: only a failed or cancelled job can be retried" in capsys.readouterr().err

    flag.touch()
    assert run_cli(settings, "jobs", "retry", failing) == 0
    assert run_cli(settings, "jobs", "retry", waiting) == 0
    assert "queued again" in capsys.readouterr().out
    burst(settings)
    assert queue.get_job(failing).result == str(flag)
    assert queue.get_job(waiting).result == 42

    again = queue.enqueue(jobs.fail, "once more")
    burst(settings)
    assert queue.get_job(again).error == "ValueError: once more"
    assert run_cli(settings, "jobs", "clear-failed") == 0
    assert capsys.readouterr().out == "1 failed job cleared\n"
    assert run_cli(settings, "jobs", "list", "--status", "failed") == 0
    assert capsys.readouterr().out == "no failed jobs\n"


@pytest.mark.parametrize("args", [["show", "no-such-job"], ["retry", "no-such-job"], ["cancel", "no-such-job"]])
def test_an_unknown_job_id_is_one_line_and_exit_2(rq_setup, args, capsys):
    settings, _ = rq_setup
    assert run_cli(settings, "jobs", *args) == 2
    assert capsys.readouterr().err == ("sublarr: error: no job with id 'no-such-job' (finished jobs are kept for "
                                       "queue_job_retention_seconds)\n")


def test_bad_status_and_limit_are_usage_errors(rq_setup, capsys):
    settings, _ = rq_setup
    assert run_cli(settings, "jobs", "list", "--status", "lost") == 2
    assert "'lost' is not one of 'queued', 'running', 'completed', 'failed', 'cancelled'" in capsys.readouterr().err
    assert run_cli(settings, "jobs", "list", "--limit", "0") == 2
    assert "--limit" in capsys.readouterr().err


def test_redis_down_is_a_failure_and_status_still_answers(database_url, tmp_path, capsys):
    from tests.events.conftest import closed_port

    path = tmp_path / "settings.toml"
    path.write_text(f"database_url = {json.dumps(database_url)}\n"
                    f'redis_url = "redis://:pw-in-url@127.0.0.1:{closed_port()}/0"\n')
    assert run_cli(str(path), "jobs", "list") == 1
    err = capsys.readouterr().err
    assert err.startswith("sublarr: error: rq queue 'sublarr': Redis at redis://:***@127.0.0.1:")
    assert err.count("\n") == 1 and "pw-in-url" not in err
    assert run_cli(str(path), "status", "--json") == 0
    jobs_status = json.loads(capsys.readouterr().out)["jobs"]
    assert "is unreachable" in jobs_status["unavailable"] and "pw-in-url" not in jobs_status["unavailable"]


def test_memory_queue_says_its_jobs_live_inside_sublarr_run(database_url, tmp_path, capsys):
    path = tmp_path / "settings.toml"
    path.write_text(f'database_url = {json.dumps(database_url)}\nredis_url = ""\n')
    for args in (["list"], ["show", "x"], ["retry", "x"], ["cancel", "x"], ["clear-failed"]):
        assert run_cli(str(path), "jobs", *args) == 2
        err = capsys.readouterr().err
        assert err.startswith("sublarr: error: setting 'queue_driver': the 'memory' queue keeps its jobs inside "
                              "the `sublarr run` process") and err.count("\n") == 1
    assert run_cli(str(path), "status", "--json") == 0
    assert "inside the `sublarr run` process" in json.loads(capsys.readouterr().out)["jobs"]["unavailable"]


def test_in_process_the_memory_queue_has_the_same_api(database_url):
    """What `sublarr jobs` calls works on the memory queue inside the process that owns it."""
    from tests.drivers.conftest import wait_for

    kernel = boot(database_url)
    try:
        failed = kernel.queue.enqueue(jobs.fail, "in process")
        wait_for(kernel.queue, failed)
        assert [j.id for j in kernel.queue.list_jobs(status="failed")] == [failed]
        assert kernel.queue.job_counts() == {"queued": 0, "running": 0, "failed": 1}
    finally:
        kernel.close()


def test_a_worker_that_cannot_import_the_job_function_says_which_module(rq_setup, tmp_path, monkeypatch, capsys):
    settings, queue = rq_setup
    module = f"myjobs_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "only-here"
    folder.mkdir()
    (folder / f"{module}.py").write_text("def work():\n    return 1\n")
    monkeypatch.syspath_prepend(str(folder))  # importable here, not in the worker
    job_id = queue.enqueue(__import__(module).work)
    burst(settings)

    job = queue.get_job(job_id)
    assert job.status == "failed"
    assert job.error == (f"ImportError: cannot load job function '{module}.work' in this `sublarr worker`: no module "
                         f"named '{module}' on this worker's path; job functions must be defined at module level "
                         f"in a module that every `sublarr worker` can import (an installed package or plugin, or a "
                         f"module on the worker's PYTHONPATH)")
    assert "Invalid attribute name" not in job.meta["traceback"]
    assert run_cli(settings, "jobs", "show", job_id) == 0
    assert f"no module named '{module}'" in capsys.readouterr().out


def test_import_problems_are_named():
    from sublarr.drivers.rq_queue import import_problem

    assert import_problem("tests.drivers.jobs_for_tests.nothing") == (
        "module 'tests.drivers.jobs_for_tests' has no attribute 'nothing'")
    assert import_problem("no_such_pkg_x.work") == "no module named 'no_such_pkg_x' on this worker's path"
    assert import_problem("tests.drivers.jobs_for_tests.add.deeper") == (
        "tests.drivers.jobs_for_tests.add has no attribute 'deeper'")
    assert import_problem("tests.drivers.jobs_for_tests.add").startswith("it imports here now")
