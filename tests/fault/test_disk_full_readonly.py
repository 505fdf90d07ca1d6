"""Disk full and read-only database files on SQLite: a clear error, no corruption, recovery.

Disk full is produced two ways: a real full filesystem (a small tmpfs mounted for the test,
ENOSPC; skipped where mounting is not permitted) and SQLite's own limit (``PRAGMA
max_page_count`` on every connection of the kernel's pool, SQLITE_FULL), which works anywhere.
Read-only: a read-only filesystem (the tmpfs remounted ``ro``) and a read-only open
(``file:...?mode=ro&uri=true``). The tests run as root in CI, so ``chmod`` would not stop a write.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import event

from sublarr.core.errors import SettingsError
from tests.conftest import boot
from tests.fault.conftest import report, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BATCH = 50
TITLE = "x" * 1000


class Tmpfs:
    """A small tmpfs at ``path`` (root only; the test is skipped where mounting is not permitted)."""

    def __init__(self, path: Path, size: str):
        self.path = path
        path.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            path.rmdir()
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); the max_page_count test covers disk full")

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True, capture_output=True)

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def tmpfs(tmp_path):
    mounts: list[Tmpfs] = []

    def make(size: str) -> Tmpfs:
        mount = Tmpfs(tmp_path / f"tmpfs{len(mounts)}", size)
        mounts.append(mount)
        return mount

    yield make
    for mount in mounts:
        mount.unmount()


def integrity(path: Path) -> str:
    raw = sqlite3.connect(path)
    try:
        return raw.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        raw.close()


def fill(kernel) -> tuple[int, Exception]:
    """Upsert batches of BATCH wanted items until a write fails; returns (committed batches, the error)."""
    wanted = kernel.repo("wanted")
    for batch in range(100_000):
        try:
            wanted.upsert_wanted_items([{"item_type": "episode", "file_path": f"/full/{batch:05d}/{j:02d}.mkv",
                                         "title": TITLE} for j in range(BATCH)])
        except Exception as exc:
            return batch, exc
    pytest.fail("the disk never filled up")


def assert_full_error(exc: Exception) -> None:
    assert isinstance(exc, sqlalchemy.exc.OperationalError), repr(exc)
    assert "database or disk is full" in str(exc), str(exc)


def assert_whole_batches(kernel, committed: int) -> None:
    """Every committed batch is complete and the failed one left nothing."""
    assert kernel.repo("wanted").get_wanted_count() == committed * BATCH


def test_full_filesystem(tmpfs):
    mount = tmpfs("3m")
    db = mount.path / "full.db"
    filler = mount.path / "filler"
    kernel = boot(f"sqlite:///{db}")
    try:
        filler.write_bytes(b"\0" * 512 * 1024)  # freed later, to show the same kernel recovers
        committed, error = fill(kernel)
        assert committed > 0
        assert_full_error(error)
        assert_whole_batches(kernel, committed)
        assert kernel.repo("wanted").get_wanted_item(1)["title"] == TITLE  # reads keep working
        assert integrity(db) == "ok"
        filler.unlink()
        kernel.repo("wanted").upsert_wanted_items([{"item_type": "movie", "file_path": f"/after/{j}.mkv"}
                                                   for j in range(BATCH)])
        assert kernel.repo("wanted").get_wanted_count() == (committed + 1) * BATCH
    finally:
        kernel.close()
    assert integrity(db) == "ok"
    report("disk_full_tmpfs", filesystem="tmpfs 3 MiB", committed_batches=committed, batch_rows=BATCH,
           error=str(error.orig), integrity="ok", recovered_after_freeing_space=True, lost=0)


def test_database_page_limit(tmp_path):
    """SQLITE_FULL from ``max_page_count``: the same clear error, no partial batch, recovery."""
    path = tmp_path / "limited.db"
    kernel = boot(f"sqlite:///{path}")
    try:
        with kernel.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
            conn.rollback()
        limit = {"pages": pages + 200}

        @event.listens_for(kernel.engine, "connect")
        def _limit(dbapi_connection, _record):
            dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

        kernel.engine.dispose()  # every pooled connection is opened again with the limit
        committed, error = fill(kernel)
        assert committed > 0
        assert_full_error(error)
        assert_whole_batches(kernel, committed)
        assert integrity(path) == "ok"
        limit["pages"] = 1_000_000  # "space freed"
        kernel.engine.dispose()
        kernel.repo("wanted").upsert_wanted_item("movie", "/after.mkv")
        assert kernel.repo("wanted").get_wanted_count() == committed * BATCH + 1
    finally:
        kernel.close()
    assert integrity(path) == "ok"
    report("disk_full_max_page_count", committed_batches=committed, batch_rows=BATCH, error=str(error.orig),
           integrity="ok", recovered=True, lost=0)


def test_read_only_filesystem(tmpfs, tmp_path):
    mount = tmpfs("4m")
    db = mount.path / "ro.db"
    kernel = boot(f"sqlite:///{db}")
    kernel.repo("config").save_config_entry("kept", "yes")
    kernel.repo("wanted").upsert_wanted_item("episode", "/kept.mkv")
    kernel.close()
    before = db.read_bytes()
    mount.remount("ro")
    try:
        with pytest.raises(SettingsError) as caught:
            boot(f"sqlite:///{db}")
        message = str(caught.value)
        assert message.startswith("setting 'database_url'") and "unable to open database file" in message
        # the command line says the same in one line, exit status 2
        result = subprocess.run([sys.executable, "-m", "sublarr.cli", "status"], cwd=tmp_path, capture_output=True,
                                text=True, timeout=120, env=subprocess_env(SUBLARR_DB_PATH=str(db)))
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
        assert "db_path" in result.stderr
        assert db.read_bytes() == before
    finally:
        mount.remount("rw")
    assert integrity(db) == "ok"
    kernel = boot(f"sqlite:///{db}")
    try:
        assert kernel.repo("config").get_config_entry("kept") == "yes"
        assert kernel.repo("wanted").get_wanted_count() == 1
    finally:
        kernel.close()
    report("read_only_filesystem", boot_error=message, cli_exit=2, integrity="ok", lost=0)


def test_read_only_open(tmp_path, monkeypatch):
    """A database opened with ``mode=ro``: reads work, every write fails clearly, nothing changes."""
    db = tmp_path / "ro.db"
    kernel = boot(f"sqlite:///{db}")
    kernel.repo("config").save_config_entry("kept", "yes")
    kernel.close()
    monkeypatch.chdir(tmp_path)
    before = db.read_bytes()
    kernel = boot(f"sqlite:///file:{db}?mode=ro&uri=true")
    try:
        assert kernel.repo("config").get_config_entry("kept") == "yes"
        writes = [lambda: kernel.repo("config").save_config_entry("new", "value"),
                  lambda: kernel.repo("wanted").upsert_wanted_item("episode", "/x.mkv"),
                  lambda: kernel.repo("providers").record_search("p", True)]
        for write in writes:
            with pytest.raises(sqlalchemy.exc.OperationalError) as caught:
                write()
            assert "attempt to write a readonly database" in str(caught.value)
        assert kernel.repo("config").get_all_config_entries() == {"kept": "yes"}
    finally:
        kernel.close()
    assert db.read_bytes() == before
    assert integrity(db) == "ok"


def test_read_only_open_creates_no_stray_directory(tmp_path, monkeypatch):
    db = tmp_path / "ro.db"
    boot(f"sqlite:///{db}").close()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    boot(f"sqlite:///file:{db}?mode=ro&uri=true").close()
    assert list(workdir.iterdir()) == []
