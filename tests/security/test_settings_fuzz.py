"""Settings fuzz: every core setting with wrong types and malformed URLs stops ``sublarr status``.

CONTRACT §2: a bad setting (wrong type, unknown driver, malformed URL, unreachable database)
stops boot with one clear message that names the setting, exit status 2, no traceback, and no
secret in the message.

Every declared setting (``CORE_SETTINGS``) gets bad values derived from its declaration: through
``SUBLARR_<NAME>`` environment variables (dynaconf parses those as TOML, so ``true``, ``[1]`` and
``{a = 1}`` arrive as a bool, a list and a table) and through a settings file (where a string
setting can receive a list or a table). The command runs in-process for speed (``sublarr.cli.main``,
output captured at the file-descriptor level); a sample runs as real subprocesses too.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from sublarr.cli import main
from sublarr.core.settings import CORE_SETTINGS, Setting
from tests.fault.conftest import subprocess_env

SECRET = "s3cr3t-Fuzz-pw"


def env_values(setting: Setting) -> list[str]:
    """Bad values for one setting, as strings an operator could put in SUBLARR_<NAME>."""
    name, kind = setting.name, setting.type
    if kind is int:
        values = ["abc", "1.5", "[1, 2]", "true", "{a = 1}", "", "0x"]
        if setting.minimum is not None:
            values.append(str(int(setting.minimum) - 1))
        return values
    if kind is float:
        values = ["abc", "[1.5]", "true", "{a = 1}", "", "nan", "inf", "1,5"]
        if setting.minimum is not None:
            values.append(str(setting.minimum - 0.5))
        return values
    if kind is bool:
        return ["maybe", "2", "[true]", "1.5", "", "{a = 1}"]
    if kind is list:
        return ["{a = 1}", "1", "1.5", "true"]
    if setting.choices:
        return ["LOUD", "debug ", "[1]", ""]
    if name == "database_url":
        return ["not a url", "mysql://user@host/db", f"postgresql://user:{SECRET}@127.0.0.1:1/db",
                f"postgresql://user:{SECRET}@host:notaport/db", "sqlite:////proc/version/nested/x.db", "://"]
    if name == "redis_url":
        return ["http://host:6379", "localhost:6379", "redis//host", f"https://:{SECRET}@host/0"]
    if name in ("cache_driver", "queue_driver"):
        return ["nope", "bad name!", "", "redis" if name == "cache_driver" else "rq"]
    if name == "db_path":
        return ["/proc/version/nested/x.db", "/dev/null/x.db"]
    return []  # any string is a valid value of a free string setting: the file cases cover wrong types


ENV_CASES = [pytest.param(s.name, value, id=f"{s.name}={value!r}") for s in CORE_SETTINGS for value in env_values(s)]


def file_values(setting: Setting) -> list[str]:
    """Bad TOML values for one setting in a settings file."""
    if setting.type is str:
        return ["[1, 2]", "{a = 1}"] + (['"LOUD"'] if setting.choices else [])
    if setting.type is int:
        return ['"abc"', "1.5", "true", "[1]"]
    if setting.type is bool:
        return ['"maybe"', "2", "[true]"]
    if setting.type is float:
        return ['"abc"', "true", "[1.5]", "nan", "-inf"] + ([str(setting.minimum - 1)] if setting.minimum is not None else [])
    return ["5", "{a = 1}", "true"]


FILE_CASES = [pytest.param(s.name, value, id=f"{s.name}={value}") for s in CORE_SETTINGS for value in file_values(s)]


def test_every_core_setting_is_fuzzed():
    covered = {p.values[0] for p in ENV_CASES} | {p.values[0] for p in FILE_CASES}
    assert covered == {s.name for s in CORE_SETTINGS}
    assert len(ENV_CASES) + len(FILE_CASES) > 2 * len(CORE_SETTINGS)


def run_status(capfd, caplog) -> tuple[int, str, str, list[logging.LogRecord]]:
    caplog.clear()
    with caplog.at_level(logging.WARNING), pytest.raises(SystemExit) as exited:
        main(["status"])
    out, err = capfd.readouterr()
    return exited.value.code, out, err, [r for r in caplog.records if r.levelno >= logging.WARNING]


def assert_one_clear_line(name: str, code: int, out: str, err: str, warnings: list) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sublarr: error: setting '{name}'"), lines[0]
    assert "Traceback" not in err and SECRET not in err
    # in a real process, a logged warning would be a second line on stderr
    assert not warnings, [r.getMessage() for r in warnings]


@pytest.mark.parametrize("name, value", ENV_CASES)
def test_bad_environment_value_exits_2_with_one_line(name, value, tmp_path, monkeypatch, capfd, caplog):
    monkeypatch.chdir(tmp_path)  # no settings.toml here: defaults + the one bad value
    monkeypatch.setenv("SUBLARR_DB_PATH", str(tmp_path / "fuzz.db"))
    monkeypatch.setenv(f"SUBLARR_{name.upper()}", value)
    code, out, err, warnings = run_status(capfd, caplog)
    assert_one_clear_line(name, code, out, err, warnings)


@pytest.mark.parametrize("name, value", FILE_CASES)
def test_bad_file_value_exits_2_with_one_line(name, value, tmp_path, monkeypatch, capfd, caplog):
    monkeypatch.chdir(tmp_path)
    settings = tmp_path / "bad.toml"
    settings.write_text(f'db_path = "{tmp_path / "fuzz.db"}"\n' if name != "db_path" else "")
    with settings.open("a") as f:
        f.write(f"{name} = {value}\n")
    monkeypatch.setenv("SUBLARR_SETTINGS_FILES", str(settings))
    code, out, err, warnings = run_status(capfd, caplog)
    assert_one_clear_line(name, code, out, err, warnings)


SUBPROCESS_SAMPLE = [("db_pool_size", "abc"), ("auto_migrate", "maybe"), ("plugins_disabled", "{a = 1}"),
                     ("log_level", "LOUD"), ("database_url", f"postgresql://user:{SECRET}@127.0.0.1:1/db"),
                     ("redis_url", "http://host:6379"), ("queue_driver", "nope"), ("db_busy_timeout_ms", "-1")]


def test_bad_settings_in_real_processes(tmp_path):
    """The same, as a user sees it: one line on stderr, exit 2, nothing else printed."""

    def run(case: tuple[str, str]) -> tuple[str, subprocess.CompletedProcess]:
        name, value = case
        env = subprocess_env(SUBLARR_DB_PATH=str(tmp_path / f"{name}.db"), **{f"SUBLARR_{name.upper()}": value})
        return name, subprocess.run([sys.executable, "-m", "sublarr.cli", "status"], cwd=tmp_path, env=env,
                                    capture_output=True, text=True, timeout=180)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, SUBPROCESS_SAMPLE))
    for name, result in results:
        assert_one_clear_line(name, result.returncode, result.stdout, result.stderr, [])
