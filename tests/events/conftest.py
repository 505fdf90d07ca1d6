"""Fixtures of the events runtime tests: real scripts in a real hooks folder, a real HTTP server.

``events_kernel(**overrides)`` boots a kernel on the test's database (SQLite and PostgreSQL, via
``make_kernel``) with the dispatch plugin loaded, ``hooks_dir`` set to this test's folder and a
tiny webhook backoff factor, so retries take milliseconds. ``webhook_server`` is an
``http.server`` on 127.0.0.1 that records every request and answers with scripted statuses.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import sublarr.cli
from sublarr import hookimpl
from sublarr.core.plugins import BUILTIN_PLUGINS
from sublarr.plugins.hooks import dispatch

REPO = Path(__file__).resolve().parents[2]


def dispatch_plugins() -> list:
    """``extra_plugins`` for Kernel.boot: the dispatch module unless it is a built-in already."""
    return [] if any(module == dispatch.__name__ for _, module in BUILTIN_PLUGINS) else [dispatch]


@pytest.fixture
def hooks_dir(tmp_path) -> Path:
    folder = tmp_path / "hooks"
    folder.mkdir()
    return folder


@pytest.fixture
def make_script(hooks_dir) -> Callable[..., Path]:
    """``make_script("name.sh", "echo hi", folder=None)``: an executable /bin/sh script (default: in hooks_dir)."""

    def make(name: str, body: str, folder: Path | None = None) -> Path:
        path = (folder or hooks_dir) / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return path

    return make


@pytest.fixture
def events_kernel(make_kernel, hooks_dir):
    """Boot a kernel with the dispatch plugin on the test's database; keyword overrides win."""

    def boot(**overrides):
        overrides.setdefault("hooks_dir", str(hooks_dir))
        overrides.setdefault("webhook_backoff_factor", 0.01)
        return make_kernel(extra_plugins=dispatch_plugins(), **overrides)

    return boot


@pytest.fixture
def cli_settings(tmp_path, database_url, hooks_dir):
    """A settings file for the CLI on the test's database, with 127.0.0.1 allow-listed."""
    dispatch.sublarr_cli(cli=sublarr.cli.cli)  # as the plugin does when the CLI loads it
    path = tmp_path / "settings.toml"
    path.write_text(f'database_url = {json.dumps(database_url)}\nhooks_dir = {json.dumps(str(hooks_dir))}\n'
                    f'webhook_allowed_hosts = ["127.0.0.1"]\nredis_url = ""\n')
    return str(path)


class EventRecorder:
    """A throwaway plugin that records every event a kernel emits (pytest's own habit)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []
        self._lock = threading.Lock()

    @hookimpl
    def sublarr_event(self, event, payload):
        with self._lock:
            self.events.append((event, dict(payload)))

    def named(self, name: str) -> list[dict]:
        with self._lock:
            return [payload for event, payload in self.events if event == name]


@pytest.fixture
def recorder():
    return EventRecorder()


# -- the HTTP server ---------------------------------------------------------------------------------

@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class WebhookServer:
    """What the server received, and what it answers: ``statuses`` first (one each), then ``default``."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    statuses: deque = field(default_factory=deque)
    default: int = 200
    delay: float = 0.0  # seconds to wait before answering
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self) -> int:
        with self.lock:
            return self.statuses.popleft() if self.statuses else self.default

    def requests(self) -> list[Received]:
        with self.lock:
            return list(self.received)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server.state
        with state.lock:
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        status = state.answer()
        if state.delay:
            time.sleep(state.delay)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # keep the test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: WebhookServer):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request, client_address) -> None:
        pass  # a client that timed out and left makes the late answer fail: expected here


@pytest.fixture
def webhook_server():
    state = WebhookServer()
    server = _Server(state)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_env() -> dict[str, str]:
    """Environment of a subprocess that imports sublarr and these tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
