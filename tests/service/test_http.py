"""``sublarr run`` with ``http_port``: /healthz, /readyz, /metrics of a real service process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import timezone

import pytest

from sublarr import __version__
from sublarr.core.backup import backup
from sublarr.core.timeutil import parse
from tests.conftest import boot
from tests.fault.conftest import subprocess_env
from tests.polling import wait_until

pytestmark = pytest.mark.timeout(300)


def test_endpoints_of_a_healthy_service(service, tmp_path):
    svc = service(db_path=tmp_path / "s.db")
    assert svc.json("/healthz") == (200, {"status": "ok"})
    assert svc.json("/readyz") == (200, {"status": "ok"})
    status, headers, body = svc.request("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    metrics = svc.metrics()
    assert metrics[("sublarr_build_info", (("cache", "memory"), ("queue", "memory"), ("storage", "sqlite"),
                                           ("version", __version__)))] == 1
    # any other path, any other method: 404 / 405 with one line of JSON, never a traceback
    for path in ("/", "/metricsx", "/healthz/", "/api/v3/health"):
        status, headers, body = svc.request(path)
        assert status == 404 and "error" in json.loads(body), path
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, body = svc.request("/metrics", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD" and "error" in json.loads(body), method
    status, headers, body = svc.request("/readyz", method="HEAD")
    assert status == 200 and body == b""
    log = svc.stop()
    assert "Traceback" not in log


def test_metrics_report_what_the_database_holds(service, database_url, storage):
    with boot(database_url) as kernel:
        wanted = kernel.repo("wanted")
        wanted.upsert_wanted_items([{"item_type": "episode", "file_path": f"/tv/m/{i}.mkv", "title": "t",
                                     "missing_languages": ["de"]} for i in range(7)])
        for item in wanted.get_wanted_items(page=1, per_page=10)["data"][:2]:
            wanted.update_wanted_status(item["id"], "failed")
        providers = kernel.repo("providers")
        providers.record_search("opensubtitles", True, 10.0)
        providers.record_search("opensubtitles", False, 10.0)
        providers.record_download("opensubtitles", 80)
        providers.record_download("opensubtitles", 90)
        providers.auto_disable_provider("podnapisi", cooldown_minutes=30)
        hooks = kernel.repo("hooks")
        for success in (True, True, False):
            hooks.log_hook_execution(webhook_id=1, event_name="test", hook_type="webhook", success=success)
        hooks.log_hook_execution(hook_id=1, event_name="test", hook_type="script", success=False)
    svc = service(database_url=database_url)
    m = svc.metrics()
    assert m[("sublarr_wanted_items", (("status", "wanted"),))] == 5
    assert m[("sublarr_wanted_items", (("status", "failed"),))] == 2
    assert m[("sublarr_wanted_items", (("status", "found"),))] == 0
    assert m[("sublarr_provider_searches_total", (("provider", "opensubtitles"),))] == 2
    assert m[("sublarr_provider_downloads_total", (("outcome", "success"), ("provider", "opensubtitles")))] == 2
    assert m[("sublarr_provider_downloads_total", (("outcome", "failure"), ("provider", "opensubtitles")))] == 1
    assert m[("sublarr_provider_auto_disabled", (("provider", "podnapisi"),))] == 1
    assert m[("sublarr_provider_auto_disabled", (("provider", "opensubtitles"),))] == 0
    assert m[("sublarr_hook_deliveries_total", (("kind", "webhook"), ("outcome", "success")))] == 2
    assert m[("sublarr_hook_deliveries_total", (("kind", "webhook"), ("outcome", "failure")))] == 1
    assert m[("sublarr_hook_deliveries_total", (("kind", "script"), ("outcome", "failure")))] == 1
    assert m[("sublarr_jobs", (("status", "failed"),))] == 0
    assert m[("sublarr_jobs_finished_total", (("outcome", "completed"),))] == 0
    for name in ("sublarr_cache_hits_total", "sublarr_cache_misses_total"):
        assert (name, ()) in m
    if storage == "sqlite":
        assert ("sublarr_db_pool_in_use", ()) not in m
    else:
        assert m[("sublarr_db_pool_in_use", ())] >= 0 and ("sublarr_db_pool_overflow", ()) in m
    # no URL, path or secret in any label
    for _name, labels in m:
        for _key, value in labels:
            assert "/" not in value and "@" not in value, labels
    svc.stop()


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "sublarr.cli", "run"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=120,
                                env=subprocess_env(SUBLARR_HTTP_PORT=str(port), SUBLARR_LOAD_PLUGINS="[]",
                                                   SUBLARR_DB_PATH=str(tmp_path / "s.db")))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("sublarr: error: setting 'http_port': cannot listen on 127.0.0.1:") and \
        "in use" in lines[0]


@pytest.mark.parametrize("setting, value, problem", [
    ("http_port", "-1", "must be at least 0"), ("http_port", "65536", "at most 65535"),
    ("http_port", "web", "must be an integer"), ("backup_interval_hours", "nan", "finite number"),
    ("backup_interval_hours", "-2", "must be at least 0"), ("backup_interval_hours", "weekly", "must be a number"),
])
def test_bad_settings_are_one_line_and_exit_2(tmp_path, setting, value, problem):
    result = subprocess.run([sys.executable, "-m", "sublarr.cli", "config"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=subprocess_env(**{f"SUBLARR_{setting.upper()}": value}))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sublarr: error: setting '{setting}': ") and problem in lines[0]


def test_status_shows_health(tmp_path, redis_factory):
    redis = redis_factory()
    env = subprocess_env(SUBLARR_DB_PATH=str(tmp_path / "s.db"), SUBLARR_REDIS_URL=redis.url,
                         SUBLARR_LOAD_PLUGINS="[]")

    def status(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sublarr.cli", "status", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    assert "\nhealth    ok\n" in status().stdout
    redis.stop()
    text, data = status(), json.loads(status("--json").stdout)
    assert text.returncode == 0
    assert "health    failing; queue failing: Redis at redis://127.0.0.1:" in text.stdout
    assert data["health"]["status"] == "failing"
    assert set(data["health"]["failing"]) == {"queue"} and set(data["health"]["degraded"]) == {"cache"}


def test_redis_down_makes_the_service_unready_and_says_so_once(service, redis_factory, tmp_path):
    """Redis stopped: the queue refuses jobs (503, failing) and the cache fails open (degraded), one
    warning each; Redis back on the same port: 200 again and one line each that it recovered."""
    redis = redis_factory()
    svc = service(db_path=tmp_path / "s.db", redis_url=redis.url)
    assert svc.json("/readyz") == (200, {"status": "ok"})
    redis.stop()
    status, ready = wait_until(lambda: (lambda r: r if r[0] == 503 else None)(svc.json("/readyz")), timeout=60,
                               what="/readyz answering 503 with Redis stopped")
    assert ready["status"] == "failing" and set(ready["failing"]) == {"queue"}
    assert set(ready["degraded"]) == {"cache"}
    assert "jobs are refused" in ready["failing"]["queue"] and "redis://127.0.0.1:" in ready["failing"]["queue"]
    assert svc.json("/healthz") == (200, {"status": "ok"})  # alive all the same: a restart would not help
    wait_until(lambda: "queue failing:" in svc.log() and "cache degraded:" in svc.log(), timeout=30,
               what="the warnings of sublarr run")
    redis.start()
    wait_until(lambda: svc.json("/readyz") == (200, {"status": "ok"}), timeout=60,
               what="/readyz answering 200 with Redis back")
    wait_until(lambda: "queue recovered" in svc.log() and "cache recovered" in svc.log(), timeout=30,
               what="the recovered lines of sublarr run")
    log = svc.stop()
    for line in ("queue failing:", "cache degraded:", "queue recovered", "cache recovered"):
        assert log.count(line) == 1, (line, log[-3000:])


@pytest.mark.parametrize("storage", ["postgresql", "mariadb"])  # SQLite backs up without a client tool
def test_backups_impossible_are_a_warning_and_a_note(service, database_url, storage, tmp_path):
    # PATH without pg_dump / mariadb-dump (the service itself is started by its absolute path)
    svc = service(database_url=database_url, backup_interval_hours=1, extra_env={"PATH": str(tmp_path)})
    status, ready = svc.json("/readyz")
    assert status == 200 and ready["status"] == "ok"
    assert "was not found on PATH" in ready["notes"]["backup"]
    log = svc.stop()
    assert log.count("scheduled backups are off:") == 1
    assert not list(tmp_path.glob("backups/*.json"))


@pytest.mark.parametrize("storage", ["sqlite", "postgresql"])
def test_scheduled_backups_fire_and_keep_the_retention(service, database_url, storage, tmp_path):
    svc = service(database_url=database_url, backup_interval_hours=0.0005, backup_retention=2)  # every 1.8 s
    folder = tmp_path / "backups"
    wait_until(lambda: "removed 1 old backup(s) (backup_retention)" in svc.log(), timeout=120,
               what="a third scheduled backup, and the oldest one pruned")
    manifests = sorted(folder.glob("sublarr-*.json"))
    assert 2 <= len(manifests) <= 3  # the retention, and at most the next one being written
    newest = max(json.loads(p.read_text())["created_at"] for p in manifests)
    m = svc.metrics()
    assert m[("sublarr_scheduled_backups_total", (("outcome", "success"),))] >= 3
    assert m[("sublarr_scheduled_backups_total", (("outcome", "failure"),))] == 0
    # the newest backup at the scrape: the one seen above, or one written since
    assert m[("sublarr_last_backup_timestamp_seconds", ())] >= unix_time(newest) - 1e-3
    svc.stop()


def test_a_restart_does_not_take_a_backup_before_the_interval(service, tmp_path):
    db = tmp_path / "s.db"
    with boot(f"sqlite:///{db}", backup_dir=str(tmp_path / "backups")) as kernel:
        made = backup(kernel)
    svc = service(db_path=db, backup_interval_hours=1)
    m = svc.metrics()
    assert m[("sublarr_last_backup_timestamp_seconds", ())] == pytest.approx(unix_time(made.manifest.created_at))
    assert m[("sublarr_scheduled_backups_total", (("outcome", "success"),))] == 0
    log = svc.stop()
    assert "scheduled backups every 1 h" in log
    assert [p.name for p in (tmp_path / "backups").glob("sublarr-*.json")] == [made.manifest_path.name]


def unix_time(created_at: str) -> float:
    return parse(created_at).replace(tzinfo=timezone.utc).timestamp()
