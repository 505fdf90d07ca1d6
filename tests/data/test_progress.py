"""Progress bars of ``db adopt | copy | backup | restore``: drawn on a terminal, absent from a pipe and
with ``--json``. The commands run as real processes, stderr on a pseudo-terminal or a pipe."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sublarr.core.backup import BackupError, list_backups
from sublarr.core.secrets import registry
from sublarr.drivers.base import TableProgress, metered_stdin, run_tool

from .helpers import REPO, boot, fill_database, settings_file
from .legacy import make_legacy_db

# click's bar: "<label> [####-----]  n/total  100%"
BAR = re.compile(r"\[[#-]+\]\s+\d+/\d+\s+\d+%")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}


def on_terminal(*args: str, timeout: float = 300) -> tuple[int, str, str]:
    """``sublarr args`` with stderr on a pseudo-terminal and stdout a pipe: (exit status, stdout,
    everything the terminal received)."""
    controller, terminal = os.openpty()
    with subprocess.Popen([sys.executable, "-m", "sublarr.cli", *args], cwd=REPO, env=_env(),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal) as process:
        os.close(terminal)
        shown = bytearray()
        deadline = time.monotonic() + timeout
        while True:
            ready, _, _ = select.select([controller], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                process.kill()
                pytest.fail(f"sublarr {' '.join(args)} did not finish within {timeout} s: {shown.decode()}")
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
        os.close(controller)
        out = process.stdout.read().decode()
        status = process.wait(timeout=timeout)
    return status, out, shown.decode("utf-8", "replace")


def in_a_pipe(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sublarr.cli", *args], cwd=REPO, env=_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def bars(text: str, label: str) -> list[str]:
    """The frames of the bar labelled ``label`` (click redraws it after a carriage return and hides
    the cursor meanwhile with escape sequences)."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [frame for frame in re.split(r"[\r\n]", plain) if frame.startswith(label) and BAR.search(frame)]


def assert_quiet(result: subprocess.CompletedProcess) -> None:
    """Nothing of a bar in a pipe: no frame, no carriage return, no label line."""
    for stream in (result.stdout, result.stderr):
        assert not BAR.search(stream) and "\r" not in stream and "%" not in stream, stream
    assert not re.search(r"^(sqlite|pg_dump|pg_restore|mariadb|adopting)", result.stderr, re.M), result.stderr


@pytest.fixture
def filled(database_url: str, storage: str, tmp_path: Path):
    kernel = boot(database_url)
    try:
        written = fill_database(kernel, rows=5, wanted=300)
    finally:
        kernel.close()
    return settings_file(tmp_path, database_url=database_url, backup_dir=str(tmp_path / "backups")), written


BACKUP_BAR = {"sqlite": "sqlite backup: pages", "postgresql": "pg_dump: rows", "mariadb": "mariadb-dump: tables"}
RESTORE_BAR = {"sqlite": "sqlite restore: pages", "postgresql": "pg_restore: rows",
               "mariadb": "mariadb: bytes replayed"}


def test_backup_and_restore_show_bars_on_a_terminal(filled, storage: str, tmp_path: Path) -> None:
    settings, written = filled
    status, out, shown = on_terminal("--settings", str(settings), "db", "backup")
    assert status == 0, shown
    assert "backup written:" in out
    frames = bars(shown, BACKUP_BAR[storage])
    assert frames, shown
    ((path, manifest),) = list_backups(tmp_path / "backups")
    last = BAR.search(frames[-1]).group()
    done, total = map(int, re.search(r"(\d+)/(\d+)", last).groups())
    assert done == total and last.endswith("100%")
    if storage == "postgresql":  # rows: the counts of the dump's own snapshot
        assert total == sum(manifest.rows.values()) >= sum(written.values())
    elif storage == "mariadb":  # tables, the version tables included
        assert total == len(manifest.rows) + len(manifest.revisions)

    status, out, shown = on_terminal("--settings", str(settings), "db", "restore", str(path))
    assert status == 0, shown
    assert "restored" in out
    # the safety copy first, then the restore itself
    assert bars(shown, BACKUP_BAR[storage]) and bars(shown, RESTORE_BAR[storage]), shown
    last = BAR.search(bars(shown, RESTORE_BAR[storage])[-1]).group()
    done, total = map(int, re.search(r"(\d+)/(\d+)", last).groups())
    assert done == total and last.endswith("100%")
    if storage == "postgresql":
        assert total == sum(manifest.rows.values())
    elif storage == "mariadb":
        assert total == path.stat().st_size


def test_backup_and_restore_draw_nothing_in_a_pipe_or_with_json(filled, storage: str, tmp_path: Path) -> None:
    settings, _written = filled
    piped = in_a_pipe("--settings", str(settings), "db", "backup")
    assert piped.returncode == 0, piped.stderr
    assert_quiet(piped)
    assert piped.stderr == ""
    ((path, _manifest),) = list_backups(tmp_path / "backups")
    restored = in_a_pipe("--settings", str(settings), "db", "restore", str(path))
    assert restored.returncode == 0, restored.stderr
    assert_quiet(restored)
    assert restored.stderr == ""

    status, out, shown = on_terminal("--settings", str(settings), "db", "backup", "--json")
    assert status == 0, shown
    assert json.loads(out)["manifest"]["driver"] == storage
    assert not BAR.search(shown) and shown.strip() == "", shown


def test_adopt_shows_the_legacy_rows_on_a_terminal(tmp_path: Path) -> None:
    legacy = make_legacy_db(tmp_path / "legacy.db", rows=5, wanted=40)
    settings = settings_file(tmp_path)
    status, out, shown = on_terminal("--settings", str(settings), "db", "adopt", str(legacy.path))
    assert status == 0, shown
    frames = bars(shown, "adopting legacy rows")
    assert frames, shown
    last = BAR.search(frames[-1]).group()
    done, total = map(int, re.search(r"(\d+)/(\d+)", last).groups())
    assert done == total and total > 40 and last.endswith("100%")
    assert "[3/8] baseline" in shown and "[8/8] replaced" in shown  # the steps are still listed

    again = make_legacy_db(tmp_path / "again.db", rows=5, wanted=40)
    piped = in_a_pipe("--settings", str(settings), "db", "adopt", str(again.path))
    assert piped.returncode == 0, piped.stderr
    assert_quiet(piped)
    assert "[8/8] replaced" in piped.stderr  # the step lines, and nothing else


def test_copy_draws_nothing_in_a_pipe(tmp_path: Path, empty_database) -> None:
    source = empty_database("sqlite")
    kernel = boot(source)
    try:
        fill_database(kernel, rows=3, wanted=50)
    finally:
        kernel.close()
    settings = settings_file(tmp_path, database_url=source)
    status, out, shown = on_terminal("--settings", str(settings), "db", "copy", "--to",
                                     f"sqlite:///{tmp_path / 'on-terminal.db'}")
    assert status == 0, shown
    assert bars(shown, "wanted_items"), shown
    piped = in_a_pipe("--settings", str(settings), "db", "copy", "--to", f"sqlite:///{tmp_path / 'piped.db'}")
    assert piped.returncode == 0, piped.stderr
    assert_quiet(piped)
    assert "wanted_items" not in piped.stderr and piped.stderr == ""


def test_a_verbose_tool_that_fails_is_quoted_by_its_last_lines(tmp_path: Path) -> None:
    """With --verbose the error comes last: the message quotes the end, scrubbed, as one line."""
    secret = "tool-pw-3Kq9"
    registry.add([secret])
    seen: list[str] = []
    script = ("for t in a b c; do echo \"dumping contents of table $t\" >&2; done; "
              f"echo 'error: connection to db failed for password {secret}' >&2; exit 3")
    with pytest.raises(BackupError) as failed:
        run_tool(["sh", "-c", script], os.environ, "pg_dump", on_line=seen.append)
    assert seen[:3] == [f"dumping contents of table {t}" for t in "abc"]
    message = str(failed.value)
    assert message.startswith("pg_dump failed (exit status 3): ") and "\n" not in message
    assert message.endswith("error: connection to db failed for password ***")
    assert secret not in message


def test_table_progress_counts_a_table_when_the_next_one_starts() -> None:
    moved: list[int] = []
    tables = TableProgress(moved.append, {"a": 10, "b": 0, "c": 5})
    tables.started("a")
    assert moved == []  # a table is done only when the tool moves on
    tables.started("b")
    tables.started("c")
    tables.done()
    tables.done()  # idempotent
    assert moved == [10, 0, 5]
    unweighted: list[int] = []
    tables = TableProgress(unweighted.append)
    for name in "xyz":
        tables.started(name)
    tables.done()
    assert unweighted == [1, 1, 1]


def test_metered_stdin_counts_the_bytes_the_tool_read(tmp_path: Path) -> None:
    data = tmp_path / "dump.sql"
    data.write_bytes(b"x" * 200_000)
    counted: list[int] = []
    copy = tmp_path / "copy.sql"
    with metered_stdin(data, counted.append) as stdin, open(copy, "wb") as out:
        subprocess.run(["cat"], stdin=stdin, stdout=out, check=True)
    assert copy.read_bytes() == data.read_bytes()
    assert sum(counted) == 200_000
    # a tool that stops reading early ends the feed instead of hanging it
    with metered_stdin(data, counted.append) as stdin:
        subprocess.run(["head", "-c", "10"], stdin=stdin, stdout=subprocess.DEVNULL, check=True)
