"""``log_file``: the lines of stderr in a size-rotated file too, secrets masked the same way."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from tests.kernel.test_cli import one_error_line, sublarr
from tests.polling import wait_until

SECRET = "pw-Lg7-very-secret"


def _python(code: str, cwd, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    base.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=120)


def test_run_writes_its_log_to_the_file_as_on_stderr(tmp_path):
    log_file = tmp_path / "logs" / "sublarr.log"
    log_file.parent.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    # an unknown setting is warned about while the settings load, before the file is known
    base.update({"SUBLARR_LOG_FILE": str(log_file), "SUBLARR_NO_SUCH_SETTING": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "sublarr.cli", "run"], cwd=tmp_path, env=base,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: log_file.exists() and "running: storage=sqlite" in log_file.read_text(), timeout=60,
                 what="the running line in the log file")
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    written = log_file.read_text().splitlines()
    shown = [line for line in err.splitlines() if line[:4].isdigit()]
    assert written == shown  # the same records, the same format
    assert any("ignoring unknown setting 'no_such_setting'" in line for line in written)
    assert any("INFO sublarr.cli: received SIGTERM, shutting down" in line for line in written)
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_no_log_file_by_default(tmp_path):
    result = sublarr("status", cwd=tmp_path, env={"SUBLARR_NO_SUCH_SETTING": "1"})
    assert result.returncode == 0, result.stderr
    assert "ignoring unknown setting 'no_such_setting'" in result.stderr
    assert not [p for p in tmp_path.iterdir() if ".log" in p.name]


def test_secrets_are_masked_in_the_file_exactly_as_on_stderr(tmp_path):
    log_file = tmp_path / "s.log"
    result = _python(f"""
        import logging
        from sublarr.cli.logs import log_to_file, setup_logging
        from sublarr.core.settings import load_settings

        setup_logging("INFO")
        settings = load_settings(settings_files=[])  # registers the URL's password as a secret
        log_to_file(settings)
        log = logging.getLogger("sublarr.test")
        url = settings.database_url
        log.warning("connecting to %s", url)
        log.info("password is {SECRET} in the message itself")
        try:
            raise ConnectionError(f"refused: {{url}}")
        except ConnectionError:
            log.exception("the server said no")
        """, tmp_path, env={"SUBLARR_DATABASE_URL": f"postgresql://user:{SECRET}@db.lan/sublarr",
                            "SUBLARR_LOG_FILE": str(log_file)})
    assert result.returncode == 0, result.stderr
    written = log_file.read_text()
    assert written == result.stderr
    assert SECRET not in written
    assert "connecting to postgresql://user:***@db.lan/sublarr" in written
    assert "password is *** in the message itself" in written
    assert "Traceback" in written and "ConnectionError: refused: postgresql://user:***@db.lan/sublarr" in written


def test_the_file_is_rotated_by_size(tmp_path):
    log_file = tmp_path / "s.log"
    code = """
        import logging, sys
        from sublarr.cli.logs import log_to_file, setup_logging
        from sublarr.core.settings import load_settings

        setup_logging("INFO")
        log_to_file(load_settings(settings_files=[]))
        log = logging.getLogger("sublarr.test")
        first, last = int(sys.argv[1]), int(sys.argv[2])
        for n in range(first, last):
            log.info("record %05d %s", n, "x" * 40)
        """
    env = {"SUBLARR_LOG_FILE": str(log_file), "SUBLARR_LOG_MAX_BYTES": "1000", "SUBLARR_LOG_BACKUP_COUNT": "2"}
    result = _python(code.replace("sys.argv[1]", "0").replace("sys.argv[2]", "10"), tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    # an operator gives the log shipper's group read access: rotation keeps it
    log_file.chmod(0o640)
    result = _python(code.replace("sys.argv[1]", "10").replace("sys.argv[2]", "60"), tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.log", "s.log.1", "s.log.2"]
    kept = []
    for name in ("s.log.2", "s.log.1", "s.log"):
        path = tmp_path / name
        assert path.stat().st_size <= 1000
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        kept += [int(line.split("record ")[1].split()[0]) for line in path.read_text().splitlines()]
    # the newest records, in order, none lost between the files; the oldest were rotated away
    assert kept == list(range(60 - len(kept), 60))
    assert len(kept) > 10


@pytest.mark.parametrize(("env", "expected"), [
    ({"SUBLARR_LOG_MAX_BYTES": "-1"}, "setting 'log_max_bytes': must be at least 0, got -1"),
    ({"SUBLARR_LOG_BACKUP_COUNT": "-3"}, "setting 'log_backup_count': must be at least 0, got -3"),
    ({"SUBLARR_LOG_BACKUP_COUNT": "many"}, "setting 'log_backup_count': must be an integer"),
    ({"SUBLARR_LOG_FILE": "{tmp}/missing/sublarr.log"},
     "setting 'log_file': {tmp}/missing/sublarr.log: the folder {tmp}/missing does not exist"),
    ({"SUBLARR_LOG_FILE": "{tmp}/plain-file/sublarr.log"},
     "setting 'log_file': {tmp}/plain-file/sublarr.log: {tmp}/plain-file is not a folder"),
    ({"SUBLARR_LOG_FILE": "{tmp}"}, "setting 'log_file': {tmp} is a folder; name a file in it"),
])
@pytest.mark.parametrize("command", [("run",), ("config",)])
def test_bad_log_settings_exit_2_with_one_line(tmp_path, env, expected, command):
    (tmp_path / "plain-file").write_text("")
    env = {k: v.format(tmp=tmp_path) for k, v in env.items()}
    result = sublarr(*command, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert expected.format(tmp=tmp_path) in one_error_line(result)
    assert not (tmp_path / "sublarr.db").exists()  # stopped before anything was opened


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_folder_that_cannot_be_written_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    try:
        result = sublarr("status", cwd=tmp_path, env={"SUBLARR_LOG_FILE": str(folder / "s.log")})
    finally:
        folder.chmod(0o700)
    assert result.returncode == 2
    assert f"{folder}/s.log cannot be created: the folder {folder} is not writable" in one_error_line(result)
