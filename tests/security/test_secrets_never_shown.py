"""No secret in anything printed or logged, at any level, during a full session.

Secrets in play: the PostgreSQL password (a private cluster with scram authentication, so the
password is really used), the Redis password (a private ``redis-server --requirepass``), webhook
secrets (HMAC keys, a Standard Webhooks ``whsec_`` key), a password and a token inside a webhook
URL, and wrong passwords an operator might type. The kernel session runs with the root logger at
DEBUG and ``caplog`` capturing every record (message and traceback); the command line runs
in-process (``status``, ``status --json``, ``config``, ``config --json``, ``plugins``,
``db current``, ``events``) and as real processes (``sublarr run`` stopped with SIGTERM and
``sublarr worker --burst`` delivering webhooks, both with ``SUBLARR_LOG_LEVEL=DEBUG``). Everything
captured is searched for every secret.
"""

from __future__ import annotations

import base64
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sublarr import Kernel
from sublarr.cli import main
from sublarr.cli.status import status_data
from sublarr.core.errors import QueueUnavailable, SettingsError
from sublarr.core.plugins import BUILTIN_PLUGINS
from sublarr.plugins.hooks import dispatch, mask_webhook
from tests.fault.conftest import kill_process, start_private_postgres, subprocess_env
from tests.servers import RedisServer, free_port, redis_binary
from tests.webhook_rows import store_webhook

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]

PG_PASSWORD = "pgLeak-7f3Q-pw"
REDIS_PASSWORD = "rdLeak-9c2W-pw"
WEBHOOK_SECRET = "whLeak-4b8Z-secret"
WEBHOOK_KEY = "whsec_" + base64.b64encode(b"whLeak-raw-signing-key-1").decode()
URL_PASSWORD = "whLeak-urlpw-5d"
URL_TOKEN = "whLeak-token-6e"
WRONG_PG_PASSWORD = "pgLeak-WRONG-pw"
WRONG_REDIS_PASSWORD = "rdLeak-WRONG-pw"
SECRETS = [PG_PASSWORD, REDIS_PASSWORD, WEBHOOK_SECRET, WEBHOOK_KEY, URL_PASSWORD, URL_TOKEN, WRONG_PG_PASSWORD,
           WRONG_REDIS_PASSWORD]


def dispatch_plugins() -> list:
    """The events runtime's dispatch plugin, unless it is a built-in already."""
    return [] if any(module == dispatch.__name__ for _, module in BUILTIN_PLUGINS) else [dispatch]


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"secret {secret[:6]}... found in {where}: ...{text[max(0, text.find(secret) - 120):text.find(secret) + 40]}..."


# -- servers -----------------------------------------------------------------------------------------

class Servers:
    def __init__(self, tmp_path_factory):
        self.pg = start_private_postgres(PG_PASSWORD)
        self.redis = RedisServer(redis_binary(), tmp_path_factory.mktemp("leak-redis"), persistent=False,
                                 password=REDIS_PASSWORD).start()
        self.pg_url = self.pg.create_database("leak")
        self.redis_url = self.redis.url
        self.wrong_pg_url = self.pg_url.replace(PG_PASSWORD, WRONG_PG_PASSWORD)
        self.wrong_redis_url = self.redis_url.replace(REDIS_PASSWORD, WRONG_REDIS_PASSWORD)

    def close(self) -> None:
        self.redis.kill()
        self.pg.remove()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    found = Servers(tmp_path_factory)
    yield found
    found.close()


class Receiver(BaseHTTPRequestHandler):
    """Answers every POST with the server's status; remembers the signature headers it saw."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receivers():
    made = []

    def start(status: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        server.status, server.seen, server.daemon_threads = status, [], True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        made.append(server)
        return server

    yield start
    for server in made:
        server.shutdown()
        server.server_close()


def add_webhooks(kernel, ok_port: int, failing_port: int) -> None:
    hooks = kernel.repo("hooks")
    hooks.create_webhook("signed", "*", f"http://127.0.0.1:{ok_port}/hook", secret=WEBHOOK_SECRET)
    hooks.create_webhook("standard", "*", f"http://127.0.0.1:{ok_port}/std", secret=WEBHOOK_KEY)
    hooks.create_webhook("failing", "*", f"http://hookuser:{URL_PASSWORD}@127.0.0.1:{failing_port}/x?token={URL_TOKEN}",
                         secret=WEBHOOK_SECRET, retry_count=1)
    store_webhook(kernel, "refused", "*", f"http://hookuser:{URL_PASSWORD}@10.1.2.3/x?token={URL_TOKEN}",
                  secret=WEBHOOK_KEY, retry_count=0)  # a row past the save-time check (legacy database)
    hooks.create_webhook("dead", "*", f"http://127.0.0.1:{free_port()}/x?token={URL_TOKEN}", secret=WEBHOOK_SECRET,
                         retry_count=1)


def everything_logged(caplog) -> str:
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


# -- the in-process session ----------------------------------------------------------------------------

def test_kernel_session_and_cli_show_no_secret(servers, receivers, caplog, capfd, tmp_path, monkeypatch):
    caplog.set_level(logging.DEBUG)
    ok, failing = receivers(200), receivers(500)
    kernel = Kernel.boot(database_url=servers.pg_url, redis_url=servers.redis_url, settings_files=[],
                         entry_points=False, extra_plugins=dispatch_plugins(), queue_name="leak-session",
                         webhook_allowed_hosts=["127.0.0.1"], webhook_backoff_factor=0.01)
    try:
        add_webhooks(kernel, ok.server_address[1], failing.server_address[1])
        kernel.emit("config_updated", {"keys": ["database_url", "redis_url"]})
        kernel.queue.work(stop=lambda: True, burst=True)
        # the secrets were really used: signed deliveries arrived
        assert any("x-sublarr-signature" in h for h in ok.seen) and any("webhook-signature" in h for h in ok.seen)
        assert failing.seen, "the failing webhook was tried"
        logs = kernel.repo("hooks").get_hook_logs(limit=100)
        assert {log["success"] for log in logs} == {0, 1}
        kernel.cache.set("k", "v")
        assert kernel.cache.get("k") == "v"
        print(json.dumps(status_data(kernel), default=str))
        print([mask_webhook(w) for w in kernel.repo("hooks").get_webhooks()])
        print(repr(kernel), kernel.database_url and "url", kernel.settings.display())
    finally:
        kernel.close()

    # wrong passwords: clear errors, masked
    with pytest.raises(SettingsError) as caught:
        Kernel.boot(database_url=servers.wrong_pg_url, redis_url="", settings_files=[], entry_points=False)
    print(caught.value)
    assert "password authentication failed" in str(caught.value)
    kernel = Kernel.boot(database_url=servers.pg_url, redis_url=servers.wrong_redis_url, settings_files=[],
                         entry_points=False, queue_name="leak-wrong")
    try:
        assert kernel.cache.get("k") is None  # fails open
        with pytest.raises(QueueUnavailable) as refused:
            kernel.queue.enqueue(time.time)
        print(refused.value, kernel.queue.info(), kernel.cache.stats())
    finally:
        kernel.close()

    # the command line, in-process, with the secrets in the environment
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUBLARR_DATABASE_URL", servers.pg_url)
    monkeypatch.setenv("SUBLARR_REDIS_URL", servers.redis_url)
    monkeypatch.setenv("SUBLARR_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("SUBLARR_QUEUE_NAME", "leak-cli")
    for argv in (["status"], ["status", "--json"], ["config"], ["config", "--json"], ["plugins"], ["db", "current"],
                 ["events"]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, None), argv
    monkeypatch.setenv("SUBLARR_QUEUE_NAME", "leak-session")  # where the deliveries above were queued
    for argv in (["jobs", "list"], ["jobs", "list", "--json"], ["webhooks", "list"], ["webhooks", "list", "--json"]):
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code in (0, None), argv
    printed = capfd.readouterr()
    assert "sublarr.plugins.hooks.dispatch.deliver_webhook_job" in printed.out  # jobs were listed
    assert "HTTP 500" in printed.out  # the failing webhook's last error was listed
    assert "postgresql://sublarr_fault:***@" in printed.out  # masked, not omitted: a positive control
    assert len(caplog.records) > 20, "DEBUG logging was captured"
    assert_no_secret(printed.out, "stdout")
    assert_no_secret(printed.err, "stderr")
    assert_no_secret(everything_logged(caplog), "the log records")


# -- real processes ------------------------------------------------------------------------------------

def test_run_and_worker_processes_show_no_secret(servers, receivers, tmp_path):
    ok, failing = receivers(200), receivers(500)
    queue = "leak-processes"
    env = subprocess_env(SUBLARR_DATABASE_URL=servers.pg_url, SUBLARR_REDIS_URL=servers.redis_url,
                         SUBLARR_LOG_LEVEL="DEBUG", SUBLARR_QUEUE_NAME=queue, SUBLARR_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
                         SUBLARR_MAINTENANCE_INTERVAL_SECONDS="1")
    kernel = Kernel.boot(database_url=servers.pg_url, redis_url=servers.redis_url, settings_files=[],
                         entry_points=False, extra_plugins=dispatch_plugins(), queue_name=queue,
                         webhook_allowed_hosts=["127.0.0.1"])
    try:
        for webhook in kernel.repo("hooks").get_webhooks():
            kernel.repo("hooks").delete_webhook(webhook["id"])
        add_webhooks(kernel, ok.server_address[1], failing.server_address[1])
        kernel.emit("wanted_scan_complete", {"total": 1})
        queued = kernel.queue.queue_length()
        assert queued >= 4
    finally:
        kernel.close()

    outputs: dict[str, str] = {}
    worker = subprocess.run([sys.executable, "-m", "sublarr.cli", "worker", "--burst"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=180)
    outputs["worker"] = worker.stdout + worker.stderr
    assert worker.returncode == 0, worker.stderr[-3000:]
    assert any("x-sublarr-signature" in h for h in ok.seen), "the worker delivered signed webhooks"
    assert "DEBUG" in worker.stderr, "the worker logged at DEBUG"

    run = subprocess.Popen([sys.executable, "-m", "sublarr.cli", "run"], cwd=tmp_path, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        for _ in range(50):  # log lines may come first; stop at the "running" line or at exit
            read = run.stderr.readline()
            line += read
            if not read or "running" in read:
                break
        assert "running" in line, line[-2000:]
        time.sleep(3)  # a few maintenance rounds at DEBUG
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=60)
    finally:
        kill_process(run)
    outputs["run"] = line + out + err
    assert run.returncode == 0, err[-3000:]
    assert "sublarr stopped" in err

    for argv in (["status"], ["config", "--json"], ["db", "current"]):
        result = subprocess.run([sys.executable, "-m", "sublarr.cli", *argv], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=180)
        assert result.returncode == 0, result.stderr[-2000:]
        outputs[" ".join(argv)] = result.stdout + result.stderr
    assert "***" in outputs["config --json"]
    for where, text in outputs.items():
        assert_no_secret(text, f"`sublarr {where}`")
