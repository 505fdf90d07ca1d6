"""``/healthz``, ``/readyz`` and ``/metrics`` of ``sublarr run``, served by waitress in a thread.

A small WSGI application (no framework: three fixed paths) behind waitress, a maintained
production WSGI server. ``GET`` and ``HEAD`` only (405 otherwise), 404 for any other path, and a
failure inside a handler is a 500 with one line of JSON, never a traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from sublarr.core.errors import SettingsError
from sublarr.core.secrets import scrub
from sublarr.service.health import Health
from sublarr.service.metrics import exposition

log = logging.getLogger("sublarr.http")

PATHS = ("/healthz", "/readyz", "/metrics")
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class App:
    """The WSGI application. ``running()`` is the liveness of the service loop."""

    def __init__(self, health: Health, registry, running: Callable[[], bool]):
        self.health = health
        self.registry = registry
        self.running = running

    def __call__(self, environ: dict[str, Any], start_response) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO") or "/", environ.get("REQUEST_METHOD", "GET")
        try:
            if path not in PATHS:
                status, body, kind = 404, _json({"error": f"no such path; try {', '.join(PATHS)}"}), None
            elif method not in ("GET", "HEAD"):
                status, body, kind = 405, _json({"error": f"method {method} not allowed; use GET"}), None
            else:
                status, body, kind = getattr(self, path.strip("/"))()
        except Exception as exc:
            log.error("%s %s failed: %s", method, path, scrub(str(exc).strip().splitlines()[0] if str(exc).strip()
                                                                 else type(exc).__name__))
            status, body, kind = 500, _json({"error": "internal error; see the sublarr log"}), None
        headers = [("Content-Type", kind or "application/json"), ("Content-Length", str(len(body))),
                   ("Cache-Control", "no-store")]
        if status == 405:
            headers.append(("Allow", "GET, HEAD"))
        start_response(f"{status} {_REASONS[status]}", headers)
        return [b""] if method == "HEAD" else [body]

    def healthz(self) -> tuple[int, bytes, str | None]:
        if self.running():
            return 200, _json({"status": "ok"}), None
        return 503, _json({"status": "stopping"}), None

    def readyz(self) -> tuple[int, bytes, str | None]:
        readiness = self.health.check()
        return readiness.http_status, _json(readiness.as_dict()), None

    def metrics(self) -> tuple[int, bytes, str | None]:
        return 200, exposition(self.registry), METRICS_TYPE


def _json(data: Any) -> bytes:
    return (json.dumps(data, sort_keys=True) + "\n").encode()


class HttpServer:
    """waitress on ``host:port`` in a thread: ``start()`` binds (SettingsError naming ``http_port``
    when it cannot, e.g. the port is taken), ``close()`` stops it and its connections."""

    def __init__(self, app: App, host: str, port: int, threads: int = 4):
        from waitress.server import create_server

        self._map: dict = {}  # waitress's socket map of this server alone: close() empties it
        try:
            self.server = create_server(app, map=self._map, host=host, port=port, threads=threads,
                                        ident="sublarr", clear_untrusted_proxy_headers=True)
        except OSError as exc:  # the port is taken or not ours to bind; the host does not resolve
            setting = "http_host" if isinstance(exc, socket.gaierror) else "http_port"
            raise SettingsError(setting, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        except ValueError as exc:  # waitress: the host does not resolve to an address
            raise SettingsError("http_host", f"cannot listen on {host}:{port}: {exc}") from None
        self.address = (self.server.effective_host, self.server.effective_port)
        self._thread = threading.Thread(target=self.server.run, name="sublarr-http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("serving /healthz, /readyz, /metrics on http://%s:%s", *self.address)

    def close(self) -> None:
        from waitress import wasyncore

        self.server.task_dispatcher.shutdown()  # finishes the requests under way
        wasyncore.close_all(self._map)  # the listening socket and every open connection
        self._thread.join(timeout=10)
