"""``sublarr db backup`` / ``restore``: online, consistent, verified, atomic, on both dialects."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from sublarr import __version__
from sublarr.core.backup import (
    BackupError,
    DatabaseBusy,
    Manifest,
    backup,
    list_backups,
    prune_backups,
    restore,
    sha256_file,
)
from sublarr.core.transfer import database_checksums

from .helpers import boot, fill_database, run_python, settings_file


def test_backup_and_restore_round_trip(database_url: str, storage: str, tmp_path: Path) -> None:
    kernel = boot(database_url, backup_dir=str(tmp_path / "backups"))
    try:
        fill_database(kernel, rows=10, wanted=200)
        saved = database_checksums(kernel)
        result = backup(kernel)
        assert result.path.parent == tmp_path / "backups"
        assert result.path.name.startswith("sublarr-") and result.path.suffix == kernel.storage.backup_suffix
        assert result.path.suffix == {"sqlite": ".db", "postgresql": ".dump", "mariadb": ".sql"}[storage]
        # backups hold webhook secrets and API keys: private to the owner, whatever the umask
        assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(result.manifest_path.stat().st_mode) == 0o600
        manifest = json.loads(result.manifest_path.read_text())
        assert manifest["driver"] == storage
        assert manifest["kernel_version"] == __version__
        assert manifest["revisions"] == kernel.migrator.current()
        assert manifest["rows"]["wanted_items"] == 200
        assert manifest["sha256"] == sha256_file(result.path)
        assert len(manifest["created_at"]) == 26 and "T" in manifest["created_at"]  # the kernel's UTC format
        if storage != "sqlite":
            assert make_url(database_url).password not in result.manifest_path.read_text()

        # life goes on after the backup ...
        from sublarr.plugins import blacklist, wanted

        wanted.delete_wanted_items_by_ids(list(range(1, 51)))
        blacklist.add_blacklist_entry("late", "sub-late")
        changed = database_checksums(kernel)
        assert changed != saved
        # ... and the restore brings back exactly what was backed up
        restored = restore(kernel, result.path)
        assert database_checksums(kernel) == saved
        assert not restored.behind
        # the database as it was before the restore was saved first
        assert restored.safety_copy is not None and restored.safety_copy.exists()
        assert stat.S_IMODE(restored.safety_copy.stat().st_mode) == 0o600
        # a safety copy never counts toward backup_retention
        assert [path for path, _ in list_backups(tmp_path / "backups")] == [result.path]
        restore(kernel, restored.safety_copy, safety_copy=False)
        assert database_checksums(kernel) == changed
    finally:
        kernel.close()


def test_backup_is_consistent_while_writers_run(database_url: str, storage: str, tmp_path: Path) -> None:
    """Each write adds one blacklist entry and one wanted item in one transaction: a consistent
    backup holds as many of the one as of the other."""
    kernel = boot(database_url, backup_dir=str(tmp_path / "backups"))
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        i = 0
        while not stop.is_set():
            with kernel.engine.begin() as conn:
                conn.execute(text("INSERT INTO blacklist_entries (provider_name, subtitle_id, added_at) "
                                  "VALUES ('w', :s, '2024-01-01T00:00:00.000000')"), {"s": f"s{i}"})
                conn.execute(text("INSERT INTO wanted_items (item_type, file_path, added_at, updated_at) "
                                  "VALUES ('movie', :p, '2024-01-01T00:00:00.000000', "
                                  "'2024-01-01T00:00:00.000000')"), {"p": f"/w/{i}.mkv"})
            i += 1
            written[0] = i

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 20:
            stop.wait(0.01)
        results = [backup(kernel) for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    try:
        for result in results:
            rows = result.manifest.rows
            assert rows["blacklist_entries"] == rows["wanted_items"] > 0
        assert results[-1].manifest.rows["wanted_items"] < written[0] + 1
        restore(kernel, results[1].path, safety_copy=False)
        from sublarr.plugins import blacklist, wanted

        assert wanted.get_wanted_count() == blacklist.get_blacklist_count() == results[1].manifest.rows["wanted_items"]
    finally:
        kernel.close()


def test_retention_keeps_the_newest_backups(tmp_path: Path, empty_database) -> None:
    folder = tmp_path / "backups"
    kernel = boot(empty_database("sqlite"), backup_dir=str(folder), backup_retention=2)
    try:
        made = [backup(kernel).path for _ in range(4)]
        folder.joinpath("notes.txt").write_text("not a backup")
        last = backup(kernel)
        assert [p for p, _m in list_backups(folder)] == [last.path, made[3]]
        assert last.pruned == [made[2]]  # made[0] and made[1] went when the third and fourth were written
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [last.path.name, last.manifest_path.name, made[3].name, made[3].name + ".json", "notes.txt"])
        assert prune_backups(folder, 0) == []  # 0 keeps all
        assert len(list_backups(folder)) == 2
    finally:
        kernel.close()


def test_restore_refuses_a_newer_schema(tmp_path: Path, empty_database) -> None:
    kernel = boot(empty_database("sqlite"), backup_dir=str(tmp_path / "backups"))
    try:
        fill_database(kernel, rows=3, wanted=10)
        result = backup(kernel)
        # the same backup as a newer sublarr would have written it: a revision this code does not know
        conn = sqlite3.connect(result.path)
        conn.execute("UPDATE alembic_version_wanted SET version_num = 'wanted_9999'")
        conn.commit()
        conn.close()
        manifest = Manifest.read(result.path)
        manifest.revisions["wanted"] = "wanted_9999"
        manifest.size, manifest.sha256 = result.path.stat().st_size, sha256_file(result.path)
        manifest.write(result.path)
        before = database_checksums(kernel)
        with pytest.raises(BackupError, match="newer schema: domain wanted is at revision wanted_9999"):
            restore(kernel, result.path)
        assert database_checksums(kernel) == before
        assert len(list_backups(tmp_path / "backups")) == 1  # not even a safety copy was needed
    finally:
        kernel.close()


def test_restore_refuses_damaged_foreign_and_incomplete_backups(tmp_path: Path, empty_database) -> None:
    sqlite_kernel = boot(empty_database("sqlite"), backup_dir=str(tmp_path / "a"))
    pg_kernel = boot(empty_database("postgresql"), backup_dir=str(tmp_path / "b"))
    try:
        fill_database(sqlite_kernel, rows=2, wanted=5)
        result = backup(sqlite_kernel)
        with pytest.raises(BackupError, match="is a sqlite backup and the configured database is postgresql"):
            restore(pg_kernel, result.path)
        with open(result.path, "r+b") as fh:
            fh.seek(200)
            fh.write(b"\x00garbage")
        with pytest.raises(BackupError, match="does not match its manifest"):
            restore(sqlite_kernel, result.path)
        result.manifest_path.unlink()
        with pytest.raises(BackupError, match="has no manifest"):
            restore(sqlite_kernel, result.path)
    finally:
        pg_kernel.close()
        sqlite_kernel.close()


def test_restore_refuses_a_sqlite_file_in_use(tmp_path: Path, empty_database) -> None:
    url = empty_database("sqlite")
    kernel = boot(url, backup_dir=str(tmp_path / "backups"), db_busy_timeout_ms=1000)
    other = None
    try:
        fill_database(kernel, rows=2, wanted=5)
        result = backup(kernel)
        from sublarr.plugins import wanted

        wanted.upsert_wanted_item("movie", "/after/backup.mkv")
        before = database_checksums(kernel)
        other = sqlite3.connect(make_url(url).database)  # another process still has it open
        other.execute("SELECT 1 FROM wanted_items").fetchall()
        with pytest.raises(DatabaseBusy):
            restore(kernel, result.path, safety_copy=False)
        assert database_checksums(kernel) == before
        assert not list(Path(make_url(url).database).parent.glob(".*.restore-*"))
        # refused with a safety copy: the copy goes again, and no real backup was pruned for it
        with pytest.raises(DatabaseBusy):
            restore(kernel, result.path)
        assert sorted(p.name for p in (tmp_path / "backups").iterdir()) == sorted(
            [result.path.name, result.manifest_path.name])
    finally:
        if other is not None:
            other.close()
        kernel.close()


def test_pg_dump_gets_the_password_through_the_environment(tmp_path: Path, empty_database,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url = empty_database("postgresql")
    password = make_url(url).password
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.txt"
    for tool in ("pg_dump", "pg_restore"):
        script = tools / tool
        script.write_text(f'#!/bin/sh\necho "{tool} $* PGPASSWORD=${{PGPASSWORD:+set}}" >> "{log}"\n'
                          f'exec /usr/bin/{tool} "$@"\n')
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    kernel = boot(url, backup_dir=str(tmp_path / "backups"))
    try:
        fill_database(kernel, rows=2, wanted=5)
        result = backup(kernel)
        restore(kernel, result.path, safety_copy=False)
    finally:
        kernel.close()
    calls = log.read_text()
    assert "pg_dump " in calls and "pg_restore " in calls and "--clean --if-exists" in calls
    assert calls.count("PGPASSWORD=set") == 2
    assert password not in calls  # never on a command line


def test_missing_pg_dump_is_a_clear_message(tmp_path: Path, empty_database, monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = boot(empty_database("postgresql"), backup_dir=str(tmp_path / "backups"))
    try:
        monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
        with pytest.raises(BackupError, match="pg_dump was not found on PATH: install the PostgreSQL client"):
            backup(kernel)
        assert list_backups(tmp_path / "backups") == []
    finally:
        kernel.close()


def test_cli_backup_and_restore(tmp_path: Path, empty_database) -> None:
    from sublarr.cli import cli
    from sublarr.cli.data import register
    from sublarr.cli.db import db

    register(db)
    url = empty_database("sqlite")
    kernel = boot(url)
    fill_database(kernel, rows=3, wanted=12)
    saved = database_checksums(kernel)
    kernel.close()
    settings = settings_file(tmp_path, database_url=url, backup_dir=str(tmp_path / "default-dir"),
                             backup_retention=3)
    runner = CliRunner()
    made = runner.invoke(cli, ["--settings", str(settings), "db", "backup", "--to", str(tmp_path / "here")])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"backup written: {tmp_path / 'here'}")
    backup_file = Path(made.stdout.split()[2])
    as_json = runner.invoke(cli, ["--settings", str(settings), "db", "backup", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["manifest"]["rows"]["wanted_items"] == 12

    kernel = boot(url)
    from sublarr.plugins import wanted

    wanted.delete_wanted_items_by_ids([1, 2, 3])
    kernel.close()
    restored = runner.invoke(cli, ["--settings", str(settings), "db", "restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.stdout and "saved as" in restored.stdout
    kernel = boot(url)
    try:
        assert database_checksums(kernel) == saved
    finally:
        kernel.close()
    missing = runner.invoke(cli, ["--settings", str(settings), "db", "restore", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2


def test_cli_backup_as_a_real_process(tmp_path: Path, empty_database) -> None:
    url = empty_database("postgresql")
    kernel = boot(url)
    fill_database(kernel, rows=2, wanted=4)
    kernel.close()
    settings = settings_file(tmp_path, database_url=url, backup_dir=str(tmp_path / "pg-backups"))
    done = run_python("import sys; from sublarr.cli import main; from sublarr.cli.db import db; from sublarr.cli.data import register; "
                      "register(db); main(sys.argv[1:])", "--settings", str(settings), "db", "backup")
    assert done.returncode == 0, done.stderr
    assert ".dump" in done.stdout
    ((path, manifest),) = list_backups(tmp_path / "pg-backups")
    assert manifest.driver == "postgresql" and manifest.rows["wanted_items"] == 4
    assert make_url(url).password not in done.stdout + done.stderr


KILLED_RESTORE = """
import sys
from sublarr import Kernel
from sublarr.core.backup import restore
kernel = Kernel.boot(database_url=sys.argv[1], settings_files=[], entry_points=False, redis_url="")
print("restoring", flush=True)
restore(kernel, sys.argv[2], safety_copy=False)
print("restored", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("storage", ["postgresql", "mariadb"])
def test_killing_a_restore_kills_its_client_tool(storage: str, empty_database, tmp_path: Path) -> None:
    """SIGKILL of the restoring process takes pg_restore / mariadb with it: no orphan finishes the
    restore unseen, without the migration lock. On PostgreSQL the database is then as it was."""
    import signal

    import psutil
    import sqlalchemy as sa

    from .helpers import start_python

    url = empty_database(storage)
    kernel = boot(url, backup_dir=str(tmp_path / "backups"))
    blocker = kernel.engine.connect()
    try:
        fill_database(kernel, rows=5, wanted=50)
        result = backup(kernel)
        from sublarr.plugins import wanted

        wanted.upsert_wanted_item("movie", "/after/the/backup.mkv")
        before = database_checksums(kernel)
        # hold a lock the restore needs, so its client tool is caught while it runs
        blocker.execute(sa.text("LOCK TABLE wanted_items IN ACCESS EXCLUSIVE MODE" if storage == "postgresql"
                                else "LOCK TABLES wanted_items WRITE"))
        proc = start_python(KILLED_RESTORE, url, str(result.path))
        tool = {"postgresql": "pg_restore", "mariadb": "mariadb"}[storage]
        child = None
        deadline = time.monotonic() + 60
        while child is None and time.monotonic() < deadline and proc.poll() is None:
            found = [c for c in psutil.Process(proc.pid).children(recursive=True) if c.name() == tool]
            child = found[0] if found else None
            time.sleep(0.05)
        assert child is not None, proc.stderr.read() if proc.poll() is not None else "no client tool started"
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        gone = time.monotonic() + 10
        while time.monotonic() < gone:
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        else:
            child.kill()
            pytest.fail(f"{tool} outlived the killed restore")
    finally:
        blocker.rollback()
        if storage == "mariadb":
            blocker.execute(sa.text("UNLOCK TABLES"))
        blocker.close()
    try:
        if storage == "postgresql":  # one transaction: nothing of the aborted restore remains
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and database_checksums(kernel) != before:
                time.sleep(0.2)
            assert database_checksums(kernel) == before
    finally:
        kernel.close()
