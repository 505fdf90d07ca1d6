"""``kernel.emit()`` -> queued deliveries: matching rules, no recursion, the failure limit, the memory
and RQ queue drivers (also a worker in another process), and the ``hooks``/``webhooks`` commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

import sublarr.cli
from sublarr.core.kernel import active_kernel
from sublarr.plugins.hooks import WEBHOOK_FAILURE_LIMIT, dispatch
from tests.events.conftest import closed_port, worker_env
from tests.events.test_webhooks import verify_sublarr_signature
from tests.polling import wait_until
from tests.webhook_rows import store_webhook


def log_count(kernel) -> int:
    return kernel.repo("hooks").get_hook_log_count()


def test_catalog_and_setting_come_from_the_plugin(events_kernel):
    kernel = events_kernel()
    assert kernel.events["test"].payload_keys == ("message",)
    assert kernel.settings.webhook_backoff_factor == 0.01
    assert "sublarr_event" in kernel.plugins.info[_plugin_name(kernel)].hooks


def _plugin_name(kernel) -> str:
    return next(name for name, info in kernel.plugins.info.items() if info.module == dispatch.__name__)


# -- the memory queue ----------------------------------------------------------------------------------

def test_emit_returns_at_once_and_deliveries_run_in_the_background(events_kernel, make_script, webhook_server,
                                                                    tmp_path):
    webhook_server.delay = 2
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])
    assert kernel.queue.name == "memory"
    repo = kernel.repo("hooks")
    marker = tmp_path / "ran"
    script = make_script("slow.sh", f'sleep 2; echo "$SUBLARR_FILE_PATH" > "{marker}"')
    repo.create_hook("slow", "subtitle_downloaded", str(script))
    repo.create_webhook("slow", "subtitle_downloaded", webhook_server.url())

    started = time.monotonic()
    kernel.emit("subtitle_downloaded", {"file_path": "/m/x.mkv"})
    assert time.monotonic() - started < 1.0  # neither the 2 s script nor the 2 s server held it

    wait_until(lambda: log_count(kernel) == 2, what="two deliveries logged")
    assert marker.read_text() == "/m/x.mkv\n"
    assert [e["success"] for e in repo.get_hook_logs()] == [1, 1]


def test_matching_rules(events_kernel, make_script, webhook_server, tmp_path):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])
    repo = kernel.repo("hooks")
    ran = tmp_path / "ran"
    ran.mkdir()
    hooks = {name: repo.create_hook(name, event, str(make_script(f"{name}.sh", f'touch "{ran}/{name}"')))
             for name, event in [("exact", "translation_complete"), ("other", "translation_failed"),
                                 ("star", "*")]}
    repo.create_hook("disabled", "translation_complete", str(make_script("disabled.sh", f'touch "{ran}/disabled"')),
                     enabled=False)
    webhooks = {name: repo.create_webhook(name, event, webhook_server.url(f"/{name}"))
                for name, event in [("exact", "translation_complete"), ("all", "*"),
                                    ("other", "translation_failed")]}
    repo.create_webhook("disabled", "*", webhook_server.url("/disabled"), enabled=False)

    kernel.emit("translation_complete", {"file_path": "/m/a.srt"})

    wait_until(lambda: log_count(kernel) == 3, what="three deliveries")
    time.sleep(0.3)  # nothing else trickles in
    assert log_count(kernel) == 3
    assert sorted(p.name for p in ran.iterdir()) == ["exact"]  # script hooks: exact match only, no "*"
    assert sorted(r.path for r in webhook_server.requests()) == ["/all", "/exact"]
    assert repo.get_hook(hooks["star"]["id"])["trigger_count"] == 0
    assert repo.get_webhook(webhooks["other"]["id"])["trigger_count"] == 0


def test_hook_executed_reaches_plugins_but_never_hooks_or_webhooks(events_kernel, make_script, webhook_server,
                                                                    recorder, tmp_path):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])
    kernel.plugins.register(recorder)
    repo = kernel.repo("hooks")
    marker = tmp_path / "meta-ran"
    meta = repo.create_hook("meta", "hook_executed", str(make_script("meta.sh", f'touch "{marker}"')))
    repo.create_hook("real", "wanted_scan_complete", str(make_script("real.sh", "exit 0")))
    repo.create_webhook("meta", "hook_executed", webhook_server.url("/meta"))
    repo.create_webhook("all", "*", webhook_server.url("/all"))

    kernel.emit("wanted_scan_complete", {"total_items": 5})

    wait_until(lambda: len(recorder.named("hook_executed")) == 2, what="hook_executed for both deliveries")
    time.sleep(0.5)  # had hook_executed been delivered, it would now be arriving, and again, and again
    assert [r.path for r in webhook_server.requests()] == ["/all"]
    assert json.loads(webhook_server.requests()[0].body)["event_name"] == "wanted_scan_complete"
    assert not marker.exists() and repo.get_hook(meta["id"])["trigger_count"] == 0
    assert log_count(kernel) == 2
    assert {(p["hook_id"] is None, p["success"]) for p in recorder.named("hook_executed")} == {(True, True),
                                                                                                (False, True)}


def test_failure_limit_skips_a_webhook_until_it_is_re_enabled(events_kernel, webhook_server):
    webhook_server.default = 500
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("failing", "config_updated", webhook_server.url(), retry_count=0)

    for n in range(1, WEBHOOK_FAILURE_LIMIT + 1):
        kernel.emit("config_updated", {"keys": ["a"]})
        wait_until(lambda n=n: repo.get_webhook(webhook["id"])["consecutive_failures"] == n, what=f"failure {n}")
    kernel.emit("config_updated", {"keys": ["a"]})  # the limit is reached: skipped, not even logged
    time.sleep(0.3)
    assert len(webhook_server.requests()) == WEBHOOK_FAILURE_LIMIT
    assert log_count(kernel) == WEBHOOK_FAILURE_LIMIT

    webhook_server.default = 200
    assert repo.update_webhook(webhook["id"], enabled=True)  # re-arms
    kernel.emit("config_updated", {"keys": ["a"]})
    wait_until(lambda: repo.get_webhook(webhook["id"])["trigger_count"] == WEBHOOK_FAILURE_LIMIT + 1,
               what="delivery after re-arming")
    assert repo.get_webhook(webhook["id"])["consecutive_failures"] == 0


def test_payload_values_reach_hooks_as_plain_json(events_kernel, webhook_server):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])
    kernel.repo("hooks").create_webhook("all", "*", webhook_server.url())
    kernel.emit("standalone_file_detected", {"file_path": Path("/m/x.mkv"), "seen": datetime(2026, 1, 2, 3, 4, 5)})
    wait_until(lambda: webhook_server.requests(), what="delivery")
    assert json.loads(webhook_server.requests()[0].body)["data"] == {"file_path": "/m/x.mkv",
                                                                    "seen": "2026-01-02 03:04:05"}


def test_jobs_run_on_the_emitting_kernel(events_kernel):
    first = events_kernel()
    second = events_kernel()
    assert active_kernel() is second
    assert dispatch.job_kernel(dispatch.kernel_token(first)) is first
    assert dispatch.job_kernel(None) is second  # a worker process that never saw the emitter
    assert dispatch.job_kernel("unknown") is second


# -- RQ -----------------------------------------------------------------------------------------------

@pytest.fixture
def rq_settings(redis_url) -> dict:
    return {"redis_url": redis_url, "queue_driver": "rq", "queue_name": f"sublarr-events-{uuid.uuid4().hex[:10]}"}


def test_rq_deliveries_wait_for_a_worker(events_kernel, rq_settings, make_script, webhook_server, tmp_path):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"], **rq_settings)
    assert kernel.queue.name == "rq"
    repo = kernel.repo("hooks")
    marker = tmp_path / "ran"
    hook = repo.create_hook("script", "upgrade_complete", str(make_script("s.sh", f'echo "$SUBLARR_NEW_SCORE" > "{marker}"')))
    webhook = repo.create_webhook("hook", "upgrade_complete", webhook_server.url(), secret="rq-secret")

    kernel.emit("upgrade_complete", {"file_path": "/m/a.mkv", "new_score": 95})

    assert kernel.queue.queue_length() == 2
    assert log_count(kernel) == 0 and webhook_server.requests() == [] and not marker.exists()
    kernel.queue.work(stop=lambda: True, burst=True)

    assert kernel.queue.queue_length() == 0
    assert marker.read_text() == "95\n"
    [request] = webhook_server.requests()
    assert verify_sublarr_signature("rq-secret", request.body, request.headers["x-sublarr-signature"])
    assert json.loads(request.body)["data"] == {"file_path": "/m/a.mkv", "new_score": 95}
    assert repo.get_hook(hook["id"])["last_status"] == "success"
    assert repo.get_webhook(webhook["id"])["last_status_code"] == 200
    assert [e["success"] for e in repo.get_hook_logs()] == [1, 1]


def test_rq_jobs_carry_no_secret_and_skip_targets_changed_meanwhile(events_kernel, rq_settings, make_script,
                                                                    webhook_server, redis_url):
    import redis

    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"], **rq_settings)
    repo = kernel.repo("hooks")
    hook = repo.create_hook("script", "whisper_complete", str(make_script("s.sh", "exit 0")))
    webhook = repo.create_webhook("hook", "whisper_complete", webhook_server.url(), secret="never-in-redis")
    kernel.emit("whisper_complete", {"job_id": "j1"})

    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter("rq:job:*"):
            if client.type(key) == b"hash":
                assert b"never-in-redis" not in b"".join(client.hgetall(key).values())
    finally:
        client.close()

    repo.update_hook(hook["id"], enabled=False)
    repo.delete_webhook(webhook["id"])
    kernel.queue.work(stop=lambda: True, burst=True)

    assert log_count(kernel) == 0 and webhook_server.requests() == []
    results = sorted((j.result for j in _finished_jobs(kernel)), key=lambda r: sorted(r))
    assert {"hook_id": hook["id"], "skipped": "disabled"} in results
    assert {"webhook_id": webhook["id"], "skipped": "deleted"} in results


def _finished_jobs(kernel):
    from rq.registry import FinishedJobRegistry

    ids = FinishedJobRegistry(queue=kernel.queue._queue).get_job_ids()
    return [kernel.queue.get_job(job_id) for job_id in ids]


WORKER = """
import json, sys
from sublarr import Kernel
from sublarr.plugins.hooks import dispatch
from tests.events.conftest import dispatch_plugins

settings = json.loads(sys.argv[1])
with Kernel.boot(settings_files=[], entry_points=False, extra_plugins=dispatch_plugins(), **settings) as kernel:
    kernel.queue.work(stop=lambda: True, burst=True)
"""


def test_rq_deliveries_survive_the_emitter_and_run_in_another_process(events_kernel, rq_settings, make_script,
                                                                      webhook_server, hooks_dir, database_url,
                                                                      tmp_path):
    settings = {"database_url": database_url, "hooks_dir": str(hooks_dir), "webhook_allowed_hosts": ["127.0.0.1"],
                **rq_settings}
    kernel = events_kernel(**settings)
    repo = kernel.repo("hooks")
    marker = tmp_path / "worker-ran"
    repo.create_hook("script", "batch_complete", str(make_script("s.sh", f'echo "$SUBLARR_TOTAL" > "{marker}"')))
    repo.create_webhook("hook", "batch_complete", webhook_server.url(), secret="x")
    kernel.emit("batch_complete", {"total": 12, "succeeded": 12})
    kernel.close()  # the emitter is gone; its jobs are in Redis

    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(settings)], env=worker_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    assert marker.exists(), f"the worker ran no script hook; its stderr:\n{done.stderr[-3000:]}"
    assert marker.read_text() == "12\n"
    [request] = webhook_server.requests()
    assert json.loads(request.body)["data"] == {"total": 12, "succeeded": 12}
    checker = events_kernel()
    assert [e["success"] for e in checker.repo("hooks").get_hook_logs()] == [1, 1]


def test_a_job_that_cannot_be_queued_is_logged(events_kernel, make_script, caplog):
    kernel = events_kernel(redis_url=f"redis://127.0.0.1:{closed_port()}/0", queue_driver="rq")
    repo = kernel.repo("hooks")
    hook = repo.create_hook("script", "provider_failed", str(make_script("s.sh", "exit 0")))
    webhook = repo.create_webhook("hook", "*", "http://8.8.8.8/hook")

    kernel.emit("provider_failed", {"provider_name": "p", "error": "e"})  # does not raise

    entries = {(e["hook_id"], e["webhook_id"]): e for e in repo.get_hook_logs()}
    assert set(entries) == {(hook["id"], None), (None, webhook["id"])}
    for entry in entries.values():
        assert entry["success"] == 0
        assert entry["error"].startswith("not delivered: the job could not be queued (rq queue")
    assert "could not be queued" in caplog.text


# -- commands --------------------------------------------------------------------------------------------

def run_cli(settings: str, *args: str) -> int:
    try:
        sublarr.cli.main(["--settings", settings, *args])
    except SystemExit as exc:
        return exc.code
    return 0


def test_hooks_test_command(events_kernel, cli_settings, make_script, capsys):
    repo = events_kernel().repo("hooks")
    ok = repo.create_hook("ok", "subtitle_downloaded", str(make_script("ok.sh", 'echo "got $SUBLARR_EVENT: $SUBLARR_MESSAGE"')))
    bad = repo.create_hook("bad", "subtitle_downloaded", str(make_script("bad.sh", "echo oops >&2; exit 4")))

    assert run_cli(cli_settings, "hooks", "test", str(ok["id"])) == 0
    out = capsys.readouterr().out
    assert f"hook {ok['id']}: ok, exit code 0" in out and "got test: Test delivery from sublarr" in out

    assert run_cli(cli_settings, "hooks", "test", str(bad["id"])) == 1
    captured = capsys.readouterr()
    assert "FAILED, exit code 4" in captured.out and "oops" in captured.out
    assert f"sublarr: error: hook {bad['id']} failed: Exit code 4" in captured.err

    assert run_cli(cli_settings, "hooks", "test", "999") == 2  # an unknown id is a bad argument
    assert "no script hook with id 999" in capsys.readouterr().err
    logged = repo.get_hook_logs(hook_id=ok["id"])
    assert [(e["event_name"], e["success"]) for e in logged] == [("test", 1)]


def test_webhooks_test_command(events_kernel, cli_settings, webhook_server, capsys):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1"])  # as cli_settings says
    repo = kernel.repo("hooks")
    good = repo.create_webhook("good", "*", webhook_server.url(), secret="cli-secret")
    refused = store_webhook(kernel, "meta", "*", "http://169.254.169.254/latest/")  # a legacy row

    assert run_cli(cli_settings, "webhooks", "test", str(good["id"])) == 0
    assert f"webhook {good['id']}: ok, HTTP status 200, 1 attempt(s)" in capsys.readouterr().out
    [request] = webhook_server.requests()
    assert json.loads(request.body)["event_name"] == "test"
    assert verify_sublarr_signature("cli-secret", request.body, request.headers["x-sublarr-signature"])

    assert run_cli(cli_settings, "webhooks", "test", str(refused["id"])) == 1
    assert "cloud metadata address (always blocked)" in capsys.readouterr().err


def test_list_commands_mask_secrets(events_kernel, cli_settings, make_script, capsys):
    repo = events_kernel().repo("hooks")
    repo.create_hook("notify", "batch_complete", str(make_script("n.sh", "exit 0")))
    repo.create_webhook("hook", "*", "http://user:pa55@8.8.8.8/x", secret="list-secret")

    assert run_cli(cli_settings, "hooks", "list") == 0
    assert "notify" in capsys.readouterr().out
    assert run_cli(cli_settings, "webhooks", "list") == 0
    out = capsys.readouterr().out
    assert "list-secret" not in out and "pa55" not in out and "***" in out
    assert run_cli(cli_settings, "webhooks", "list", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert shown["secret"] == "***" and shown["url"] == "http://user:***@8.8.8.8/x"


def test_hooks_add_validates_the_path_and_the_event(events_kernel, cli_settings, make_script, hooks_dir, tmp_path,
                                                    capsys):
    inside = make_script("ok.sh", "exit 0")
    outside = make_script("evil.sh", "exit 0", folder=tmp_path)
    (hooks_dir / "link.sh").symlink_to(outside)

    assert run_cli(cli_settings, "hooks", "add", "n", "batch_complete", str(hooks_dir / "link.sh")) == 2
    assert "outside hooks_dir" in capsys.readouterr().err
    assert run_cli(cli_settings, "hooks", "add", "n", "no_such_event", str(inside)) == 2
    assert "unknown event" in capsys.readouterr().err
    assert run_cli(cli_settings, "hooks", "add", "n", "hook_executed", str(inside)) == 2
    assert "plugins only" in capsys.readouterr().err

    assert run_cli(cli_settings, "hooks", "add", "notify", "batch_complete", "ok.sh", "--timeout", "5") == 0
    [hook] = events_kernel().repo("hooks").get_hooks()
    assert (hook["name"], hook["script_path"], hook["timeout_seconds"]) == ("notify", str(inside.resolve()), 5)

