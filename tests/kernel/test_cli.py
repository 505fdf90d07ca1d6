"""The `sublarr` command, run as a user runs it: a subprocess in a working directory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import SERVERS

SECRET = "pw-Zq8-very-secret"


def sublarr(*args: str, cwd, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "sublarr.cli", *args], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=timeout)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("sublarr: error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return errors[0]


def test_status_on_the_embedded_default(tmp_path):
    result = sublarr("status", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert (tmp_path / "sublarr.db").exists()
    assert "storage   sqlite" in out
    for fact in ("journal_mode=wal", "busy_timeout_ms=5000", "foreign_keys=on", "synchronous=NORMAL"):
        assert fact in out
    assert "cache     memory" in out and "queue     memory" in out
    assert "all at head" in out
    assert "config_0001" in out
    assert re.search(r"memory-cache\s+0\.1\.0\s+built-in\s+loaded", out)


def test_status_imports_only_what_it_uses(tmp_path):
    """`sublarr status` loads neither the metrics library (imported at a scrape) nor the service, the
    backup/copy commands or Alembic (an up-to-date database needs none); `--help` still lists them all."""
    code = ("import sys; from sublarr.cli import main\n"
            "try:\n    main(['status'])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('prometheus_client', 'waitress', 'alembic')"
            " or m in ('sublarr.cli.data', 'sublarr.cli.db', 'sublarr.cli.service', 'sublarr.core.transfer')))")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    for _ in range(2):  # the first run creates and migrates the database (Alembic), the second only looks
        result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=base, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    listed = sublarr("--help", cwd=tmp_path)
    for command in ("status", "config", "plugins", "events", "run", "worker", "db", "jobs"):
        assert re.search(rf"^  {command} ", listed.stdout, re.MULTILINE), (command, listed.stdout)


def test_only_the_process_entry_point_freezes_its_objects_on_the_way_out(tmp_path):
    """`sublarr` as a process (argv from the command line) hands its objects to gc.freeze() when the command
    is done, sparing the exit's collections; main(list), a command run inside a longer-lived process (tests,
    an embedding application), must not: that process's cyclic garbage would never be collected again."""
    code = ("import atexit, gc, sys; from sublarr.cli import main\n"
            "frozen = []\n"
            "atexit.register(lambda: print('frozen at exit:', frozen, gc.get_freeze_count() > 0))\n"
            "try:\n    main(['status'])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "frozen.append(gc.get_freeze_count() > 0)\n"
            "sys.argv = ['sublarr', 'status']\n"
            "main()\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=base, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "frozen at exit: [False] True"


def test_status_json(tmp_path):
    result = sublarr("status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["storage"]["driver"] == "sqlite"
    assert data["cache"]["driver"] == "memory" and data["queue"]["driver"] == "memory"
    assert all(s["up_to_date"] for s in data["schema"])
    assert "config_entries" in data["rows"]


def test_status_on_postgresql_masks_the_password(tmp_path, pg_server, empty_database):
    url = empty_database("postgresql")
    # same server and database, with a password only this test knows, on a role made for it
    role = f"cli_{os.getpid()}"
    with pg_server.admin.connect() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{SECRET}'")
    try:
        db = url.rsplit("/", 1)[1]
        host = pg_server.admin_url
        target = f"postgresql://{role}:{SECRET}@{host.host}:{host.port or 5432}/{db}"
        result = sublarr("status", cwd=tmp_path, env={"SUBLARR_DATABASE_URL": target})
        assert result.returncode == 0, result.stderr
        assert "storage   postgresql" in result.stdout
        for fact in ("pool=QueuePool", "pool_size=5", "max_overflow=10", "pool_recycle=3600", "pre_ping=True"):
            assert fact in result.stdout
        config = sublarr("config", cwd=tmp_path, env={"SUBLARR_DATABASE_URL": target})
        assert f"postgresql://{role}:***@" in config.stdout
        for output in (result.stdout, result.stderr, config.stdout, config.stderr):
            assert SECRET not in output
    finally:
        pg_server.drop(url.rsplit("/", 1)[1])  # the role owns the tables it migrated
        with pg_server.admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize(("env", "cache", "queue"), [
    ({}, "redis", "rq"),
    ({"SUBLARR_REDIS_CACHE_ENABLED": "false"}, "memory", "rq"),
    ({"SUBLARR_REDIS_QUEUE_ENABLED": "false"}, "redis", "memory"),
])
def test_status_with_redis(tmp_path, redis_url, env, cache, queue):
    result = sublarr("status", cwd=tmp_path, env={"SUBLARR_REDIS_URL": redis_url, **env})
    assert result.returncode == 0, result.stderr
    assert f"cache     {cache}" in result.stdout and f"queue     {queue}" in result.stdout


def test_config_shows_sources_and_masks(tmp_path):
    (tmp_path / "settings.toml").write_text('db_pool_size = 8\nwebhook_allowed_hosts = ["nas.lan"]\n')
    (tmp_path / ".secrets.toml").write_text(f'redis_url = "redis://:{SECRET}@cache:6379/0"\n')
    result = sublarr("config", "--json", cwd=tmp_path, env={"SUBLARR_DB_POOL_MAX_OVERFLOW": "3",
                                                             "SUBLARR_DATABASE_URL": f"postgresql://u:{SECRET}@h/db"})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["db_pool_size"] == {"value": 8, "source": "settings.toml"}
    assert data["db_pool_max_overflow"] == {"value": 3, "source": "env"}
    assert data["redis_url"] == {"value": "redis://:***@cache:6379/0", "source": ".secrets.toml"}
    assert data["database_url"] == {"value": "postgresql://u:***@h/db", "source": "env"}
    assert data["db_path"]["source"] == "default"
    assert SECRET not in result.stdout + result.stderr
    text = sublarr("config", cwd=tmp_path)
    assert "setting" in text.stdout and "source" in text.stdout


@pytest.mark.parametrize(("env", "expected"), [
    ({"SUBLARR_DB_POOL_SIZE": "abc"}, "setting 'db_pool_size': must be an integer, got 'abc'"),
    ({"SUBLARR_DATABASE_URL": f"oracle://root:{SECRET}@db/x"}, "setting 'database_url': unsupported database scheme 'oracle'"),
    ({"SUBLARR_CACHE_DRIVER": "nope"}, "setting 'cache_driver': unknown cache driver 'nope'"),
    ({"SUBLARR_QUEUE_DRIVER": "nope"}, "setting 'queue_driver': unknown queue driver 'nope'"),
    ({"SUBLARR_REDIS_URL": "localhost:6379"}, "setting 'redis_url': must be a redis://"),
    ({"SUBLARR_DATABASE_URL": f"postgresql://u:{SECRET}@127.0.0.1:1/db", "SUBLARR_DB_CONNECT_TIMEOUT": "2"},
     "setting 'database_url': cannot connect to postgresql://u:***@127.0.0.1:1/db"),
])
def test_bad_settings_exit_2_with_one_line(tmp_path, env, expected):
    result = sublarr("status", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert expected in one_error_line(result)
    assert SECRET not in result.stderr + result.stdout


def test_bad_settings_stop_config_too(tmp_path):
    result = sublarr("config", cwd=tmp_path, env={"SUBLARR_AUTO_MIGRATE": "sometimes"})
    assert result.returncode == 2
    assert "setting 'auto_migrate': must be true or false" in one_error_line(result)


def test_db_commands(tmp_path):
    env = {"SUBLARR_AUTO_MIGRATE": "false"}
    (tmp_path / "sublarr.db").touch()  # an empty file is an empty SQLite database
    behind = sublarr("db", "check", cwd=tmp_path, env=env)
    assert behind.returncode == 1
    assert "not at head" in one_error_line(behind)
    up = sublarr("db", "upgrade", cwd=tmp_path, env=env)
    assert up.returncode == 0, up.stderr
    assert "config: empty -> config_0001" in up.stdout
    assert sublarr("db", "check", cwd=tmp_path, env=env).returncode == 0
    current = sublarr("db", "current", "--json", cwd=tmp_path, env=env)
    revisions = {r["domain"]: r for r in json.loads(current.stdout)}
    assert revisions["config"]["revision"] == revisions["config"]["head"] == "config_0001"
    down = sublarr("db", "downgrade", "config:base", cwd=tmp_path, env=env)
    assert down.returncode == 0, down.stderr
    assert sublarr("db", "check", cwd=tmp_path, env=env).returncode == 1
    bad = sublarr("db", "downgrade", "config_0001", cwd=tmp_path, env=env)
    assert bad.returncode == 2
    history = sublarr("db", "history", "config", cwd=tmp_path)
    assert "<base> -> config_0001 (head)" in history.stdout


INSPECTIONS = [("config",), ("plugins",), ("events",), ("db", "current"), ("db", "check"), ("db", "history"),
               ("db", "downgrade", "config:base"), ("db", "resolve", "config"), ("db", "backup"),
               ("db", "copy", "--to", "sqlite:///copy.db")]


@pytest.mark.parametrize("args", INSPECTIONS, ids=" ".join)
def test_commands_that_look_never_create_a_database(tmp_path, args):
    """Issue 15 item 12: `sublarr db check` in a folder without a database created an empty sublarr.db."""
    result = sublarr(*args, cwd=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    if args[0] in ("config", "plugins", "events") or args[1] == "history":
        assert result.returncode == 0, result.stderr  # they open no database at all
        return
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert f"setting 'db_path': {tmp_path / 'sublarr.db'} does not exist" in line
    assert "never creates a database" in line


@pytest.mark.parametrize("command", ["status", "run", "worker"])
def test_a_typo_in_db_path_creates_nothing(tmp_path, command):
    """Issue 15 item 12: db_path = "/nonexistent/dir/sublarr.db" made the folders and a new, empty database."""
    typo = tmp_path / "nonexistent" / "dir" / "sublarr.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'db_path = "{typo}"\n')
    result = sublarr("--settings", str(settings), command, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert f"setting 'db_path': would create the database {typo}, but the folder {typo.parent} does not exist" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


def test_db_upgrade_creates_the_database_and_its_folders(tmp_path):
    target = tmp_path / "data" / "sublarr" / "sublarr.db"
    up = sublarr("db", "upgrade", cwd=tmp_path, env={"SUBLARR_DB_PATH": str(target)})
    assert up.returncode == 0, up.stderr
    assert target.is_file()
    assert sublarr("db", "check", cwd=tmp_path, env={"SUBLARR_DB_PATH": str(target)}).returncode == 0
    # status creates the default database of a first run in a folder that exists, as the README shows
    first = tmp_path / "first"
    first.mkdir()
    assert sublarr("status", cwd=first).returncode == 0
    assert (first / "sublarr.db").is_file()


@pytest.mark.parametrize("storage", ["postgresql", "mariadb"])
def test_a_missing_server_database_is_named(tmp_path, request, storage):
    server = request.getfixturevalue(SERVERS[storage])
    url = server.url_for(f"sublarr_missing_{os.getpid()}")
    for args in (("status",), ("db", "check"), ("db", "upgrade")):
        result = sublarr(*args, cwd=tmp_path, env={"SUBLARR_DATABASE_URL": url})
        assert result.returncode == 2, result.stderr
        line = one_error_line(result)
        assert f"setting 'database_url': the database 'sublarr_missing_{os.getpid()}' does not exist on" in line
        assert "create it first" in line and "sublarr-test-pw" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_plugins_and_events_listings(tmp_path):
    plugins = sublarr("plugins", "--json", cwd=tmp_path)
    assert plugins.returncode == 0, plugins.stderr
    by_name = {p["name"]: p for p in json.loads(plugins.stdout)}
    assert by_name["sqlite"]["hooks"] == ["sublarr_storage_drivers"]
    assert by_name["config"]["tables"] == ["config_entries"]
    assert by_name["config"]["migration_head"] == "config_0001"
    assert by_name["config"]["source"] == "built-in" and by_name["config"]["status"] == "loaded"
    disabled = sublarr("plugins", "--json", cwd=tmp_path, env={"SUBLARR_PLUGINS_DISABLED": "config"})
    assert {p["name"]: p for p in json.loads(disabled.stdout)}["config"]["status"] == "disabled"
    events = sublarr("events", "--json", cwd=tmp_path)
    names = {e["name"] for e in json.loads(events.stdout)}
    assert {"subtitle_downloaded", "hook_executed", "standalone_file_detected"} <= names
    assert "subtitle_downloaded" in sublarr("events", cwd=tmp_path).stdout


def test_run_stops_cleanly_on_sigterm(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    proc = subprocess.Popen([sys.executable, "-m", "sublarr.cli", "run"], cwd=tmp_path, env=base,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while "running" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
        assert "running" in seen, seen
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_worker_needs_redis(tmp_path):
    result = sublarr("worker", "--burst", cwd=tmp_path)
    assert result.returncode == 2
    assert "setting 'queue_driver'" in one_error_line(result)


def test_unknown_command_is_usage_error(tmp_path):
    result = sublarr("nope", cwd=tmp_path)
    assert result.returncode == 2


@pytest.mark.parametrize("args, expected", [
    (["nope"], "No such command 'nope'. (see `sublarr --help`)"),
    (["--bogus"], "No such option '--bogus'. (see `sublarr --help`)"),
    (["jobs", "list", "--status", "bogus"], "Invalid value for '--status'"),
    (["webhooks", "add", "x"], "Missing argument 'URL'. (see `sublarr webhooks add --help`)"),
])
def test_usage_errors_are_one_line_naming_the_help_to_read(tmp_path, args, expected):
    """click's own form is three lines (Usage / Try / Error); every error of ours is one."""
    result = sublarr(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in one_error_line(result)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "sublarr.db").exists()
