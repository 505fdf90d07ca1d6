"""A real ``sublarr run`` in a child process, with its HTTP endpoints on a free port.

``service(**settings)`` starts ``python -m sublarr.cli run`` in the test's folder with the given
settings as ``SUBLARR_*`` variables (and ``SUBLARR_HTTP_PORT`` on a free port), waits until
``/healthz`` answers, and stops it with SIGTERM at the end (the test can stop it earlier with
``stop()``, which checks that it ended cleanly). Its log (stderr) goes to a file the test reads.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fault.conftest import kill_process, subprocess_env
from tests.polling import wait_until
from tests.servers import free_port, private_redis_servers


class Service:
    def __init__(self, cwd: Path, settings: dict[str, object], extra_env: dict[str, str] | None = None):
        self.port = free_port()
        self.cwd = cwd
        self.log_path = cwd / f"run-{self.port}.log"
        env = {f"SUBLARR_{k.upper()}": str(v) for k, v in settings.items()}
        env.setdefault("SUBLARR_HTTP_PORT", str(self.port))
        env.setdefault("SUBLARR_BACKUP_INTERVAL_HOURS", "0")
        env.setdefault("SUBLARR_LOAD_PLUGINS", "[]")  # built-ins only: not the examples the tests can see
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "sublarr.cli", "run"], cwd=cwd,
                                        env=subprocess_env(**env, **(extra_env or {})),
                                        stdout=subprocess.DEVNULL, stderr=self._log)
        wait_until(lambda: self._ended() or self.up(), timeout=120, what="sublarr run answering /healthz")
        assert not self._ended(), f"sublarr run ended: {self.log()[-3000:]}"

    def _ended(self) -> bool:
        return self.process.poll() is not None

    def up(self) -> bool:
        try:
            return self.get("/healthz")[0] == 200
        except OSError:
            return False

    def request(self, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                return answer.status, dict(answer.headers), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get(self, path: str) -> tuple[int, bytes]:
        status, _headers, body = self.request(path)
        return status, body

    def json(self, path: str) -> tuple[int, dict]:
        status, body = self.get(path)
        return status, json.loads(body)

    def metrics(self) -> dict[tuple[str, tuple], float]:
        """{(sample name, sorted label items): value} of one scrape, read with prometheus_client's parser."""
        from prometheus_client.parser import text_string_to_metric_families

        status, body = self.get("/metrics")
        assert status == 200
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body.decode()) for s in family.samples}

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> str:
        """SIGTERM; the service must stop cleanly (exit 0). Returns the whole log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            finally:
                kill_process(self.process)
        self._log.close()
        text = self.log_path.read_text(errors="replace")
        assert self.process.returncode == 0, text[-3000:]
        assert "sublarr stopped" in text
        return text


@pytest.fixture
def service(tmp_path):
    started: list[Service] = []

    def start(extra_env: dict[str, str] | None = None, **settings) -> Service:
        svc = Service(tmp_path, settings, extra_env)
        started.append(svc)
        return svc

    yield start
    for svc in started:
        if svc.process.poll() is None:
            kill_process(svc.process)
        if not svc._log.closed:
            svc._log.close()


@pytest.fixture
def redis_factory(tmp_path):
    """A private redis-server this test may stop and start again (never the shared one)."""
    yield from private_redis_servers(tmp_path)
