"""``sublarr db copy``: SQLite → PostgreSQL → SQLite (and PG → PG), verified, atomic, restartable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from sublarr.core.domain import Domain, Repository
from sublarr.core.hookspecs import hookimpl
from sublarr.core.transfer import CopyError, copy_database, database_checksums, user_rows
from tests.conftest import STORAGES

from .helpers import boot, fill_database, fingerprint, run_python, settings_file

THIRD_PARTY_MIGRATION = '''"""notes baseline

Revision ID: notes_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "notes_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "thirdparty_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("weight", sa.Float()),
        sa.Column("flag", sa.Boolean(), nullable=False, server_default=sa.false()),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table("thirdparty_notes")
'''

NOTES = sa.Table(
    "thirdparty_notes", sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("weight", sa.Float()),
    sa.Column("flag", sa.Boolean(), nullable=False, server_default=sa.false()),
    sqlite_autoincrement=True,
)


class NotesRepository(Repository):
    domain = "notes"


class NotesPlugin:
    """A third-party domain plugin: its own table, its own migration, registered at runtime."""

    def __init__(self, migrations: Path):
        self.migrations = migrations

    @hookimpl
    def sublarr_domains(self):
        return [Domain(name="notes", repository=NotesRepository, tables=[NOTES], migrations=self.migrations)]


@pytest.fixture
def notes_plugin(tmp_path: Path) -> NotesPlugin:
    folder = tmp_path / "notes_migrations"
    folder.mkdir()
    (folder / "0001_baseline.py").write_text(THIRD_PARTY_MIGRATION)
    return NotesPlugin(folder)


def _both_checksums_equal(a, b) -> None:
    left, right = database_checksums(a), database_checksums(b)
    assert left == right, sorted(t for t in left if left[t] != right.get(t))


@pytest.mark.parametrize("target_storage", STORAGES)
def test_copy_every_table_and_back(database_url: str, storage: str, target_storage: str, empty_database,
                                   notes_plugin: NotesPlugin) -> None:
    source = boot(database_url, extra_plugins=[notes_plugin])
    target = boot(empty_database(target_storage), auto_migrate=False, extra_plugins=[notes_plugin])
    try:
        written = fill_database(source, rows=25, wanted=300)
        with source.engine.begin() as conn:
            conn.execute(NOTES.insert(), [{"body": f"note {i}\twith tab\nand line", "weight": i / 3,
                                           "flag": bool(i % 2)} for i in range(40)])
            # holes at the end: the counters must stay past ids that were handed out and deleted
            conn.execute(sa.text("DELETE FROM wanted_items WHERE id > 290"))
            conn.execute(NOTES.delete().where(NOTES.c.id > 35))
        source_before = database_checksums(source)
        report = copy_database(source, target)
        assert report.rows == sum(n for n, _ in source_before.values())
        assert {t.name for t in report.tables} == set(source_before)
        assert {t.name: (t.rows, t.sha256) for t in report.tables} == source_before
        assert database_checksums(target) == source_before
        assert database_checksums(source) == source_before  # never modified
        assert target.migrator.current() == source.migrator.current()
        assert set(written) <= {t for t, (n, _) in source_before.items() if n}
        # the id counters continue past the copied (and deleted) ids
        assert report.sequences["wanted_items"] >= 300
        assert report.sequences["thirdparty_notes"] >= 40
        with target.engine.begin() as conn:
            new_note = conn.execute(NOTES.insert().values(body="new")).inserted_primary_key[0]
        assert new_note == 41
        from sublarr.plugins import wanted  # the target kernel is the active one

        assert wanted.upsert_wanted_item("movie", "/copied/new.mkv") == 301
        assert report.settings_line == f"SUBLARR_DATABASE_URL={report.target}"
    finally:
        target.close()
        source.close()


def test_copy_postgresql_to_postgresql(empty_database) -> None:
    source = boot(empty_database("postgresql"))
    target = boot(empty_database("postgresql"), auto_migrate=False)
    try:
        fill_database(source, rows=10, wanted=50)
        report = copy_database(source, target, batch_size=7)  # many small batches
        assert report.rows > 0
        _both_checksums_equal(source, target)
    finally:
        target.close()
        source.close()


def test_copy_refuses_a_target_with_data_unless_forced(empty_database) -> None:
    source = boot(empty_database("sqlite"))
    target = boot(empty_database("postgresql"))  # booted, migrated: it holds only the migrations' seeds
    try:
        fill_database(source, rows=5, wanted=20)
        assert user_rows(target) == {}  # seeds are not content
        copy_database(source, target)
        fill_database(target, rows=1, wanted=3, start=10_000)
        before = database_checksums(target)
        with pytest.raises(CopyError, match=r"not empty: .*use --force"):
            copy_database(source, target)
        assert database_checksums(target) == before
        report = copy_database(source, target, force=True)
        assert report.emptied["wanted_items"] == 23
        _both_checksums_equal(source, target)
    finally:
        target.close()
        source.close()


def test_copy_refuses_itself_and_a_source_behind_head(tmp_path: Path, empty_database) -> None:
    url = empty_database("sqlite")
    source = boot(url)
    link = tmp_path / "another-name.db"
    link.symlink_to(make_url(url).database)  # the same file under another name
    same = boot(f"sqlite:///{link}", auto_migrate=False)
    try:
        with pytest.raises(CopyError, match="same database"):
            copy_database(source, same)
    finally:
        same.close()
        source.close()
    legacy = tmp_path / "legacy.db"
    from .legacy import make_legacy_db

    make_legacy_db(legacy, rows=2, wanted=2)
    old = boot(f"sqlite:///{legacy}", auto_migrate=False)
    target = boot(empty_database("sqlite"), auto_migrate=False)
    try:
        with pytest.raises(CopyError, match="not at the code's schema head.*sublarr db adopt"):
            copy_database(old, target)
    finally:
        target.close()
        old.close()


def test_a_checksum_mismatch_names_the_table_and_leaves_the_target_empty(empty_database,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source = boot(empty_database("sqlite"))
    target = boot(empty_database("postgresql"), auto_migrate=False)
    try:
        fill_database(source, rows=5, wanted=20)
        real_writer = target.storage.bulk_writer

        def corrupting_writer(tconn, table):
            write = real_writer(tconn, table)
            if table.name != "blacklist_entries":
                return write
            # one value changes on its way: the checksum must notice
            return lambda batch: write([(*row[:-1], "2000-01-01T00:00:00.000000") for row in batch])

        monkeypatch.setattr(target.storage, "bulk_writer", corrupting_writer)
        with pytest.raises(CopyError, match="table blacklist_entries: the checksum"):
            copy_database(source, target)
        assert user_rows(target) == {}  # the whole copy was rolled back
        monkeypatch.undo()
        copy_database(source, target)  # and it can simply be run again
        _both_checksums_equal(source, target)
    finally:
        target.close()
        source.close()


def test_cli_copy(tmp_path: Path, empty_database) -> None:
    from sublarr.cli import cli
    from sublarr.cli.data import register
    from sublarr.cli.db import db

    register(db)
    source_url = empty_database("sqlite")
    source = boot(source_url)
    fill_database(source, rows=5, wanted=30)
    source.close()
    target_url = empty_database("postgresql")
    password = make_url(target_url).password
    settings = settings_file(tmp_path, database_url=source_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["--settings", str(settings), "db", "copy", "--to", target_url])
    assert result.exit_code == 0, result.output
    assert "verified: row counts and checksums of all" in result.stdout
    assert "wanted_items" not in result.stderr  # no bars when stderr is not a terminal (tests/data/test_progress.py)
    line = result.stdout.strip().splitlines()[-1]
    assert line.startswith("SUBLARR_DATABASE_URL=postgresql://") and ":***@" in line
    assert password not in result.output
    again = runner.invoke(cli, ["--settings", str(settings), "db", "copy", "--to", target_url])
    assert again.exit_code == 1 and "--force" in str(again.exception)
    bad = runner.invoke(cli, ["--settings", str(settings), "db", "copy", "--to", "postgresql://u:pw@127.0.0.1:1/x"])
    assert bad.exit_code == 2 and "--to" in bad.output and ":pw@" not in bad.output


def test_cli_copy_as_a_real_process(tmp_path: Path, empty_database) -> None:
    source_url = empty_database("sqlite")
    source = boot(source_url)
    fill_database(source, rows=3, wanted=10)
    source.close()
    target_url = empty_database("sqlite")
    settings = settings_file(tmp_path, database_url=source_url)
    done = run_python("import sys; from sublarr.cli import main; from sublarr.cli.db import db; from sublarr.cli.data import register; "
                      "register(db); main(sys.argv[1:])",
                      "--settings", str(settings), "db", "copy", "--to", target_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"SUBLARR_DATABASE_URL={target_url}")


KILL_COPY = """
import contextlib, os, signal, sys
from sublarr import Kernel
from sublarr.core.transfer import copy_database
def boot(url):
    return Kernel.boot(database_url=url, settings_files=[], entry_points=False, auto_migrate=False, redis_url="")
source, target = boot(sys.argv[1]), boot(sys.argv[2])
@contextlib.contextmanager
def progress(table, total):
    done = [0]
    def update(n):
        done[0] += n
        if table == "wanted_items" and done[0] >= total // 2:
            print("killed at", done[0], "of", total, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    yield update
copy_database(source, target, progress=progress, batch_size=500)
print("finished", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("target_storage", STORAGES)
def test_copy_killed_midway_writes_nothing(target_storage: str, empty_database) -> None:
    source_url = empty_database("sqlite")
    source = boot(source_url)
    fill_database(source, rows=50, wanted=20_000)
    source.close()
    source_file = make_url(source_url).database
    before = fingerprint(source_file)
    target_url = empty_database(target_storage)
    done = run_python(KILL_COPY, source_url, target_url)
    assert done.returncode == -9, done.stderr
    assert "killed at" in done.stdout
    assert fingerprint(source_file) == before  # nothing lost at the source
    target = boot(target_url, auto_migrate=False)
    source = boot(source_url, auto_migrate=False)
    try:
        # nothing half-written: the copy's transaction died with it (only the migrations' seeds remain)
        assert user_rows(target) == {}
        report = copy_database(source, target)  # no --force needed: the target is still empty
        assert report.rows == sum(n for n, _ in before.values() if n) - _version_rows(before)
        _both_checksums_equal(source, target)
    finally:
        source.close()
        target.close()


def _version_rows(fp: dict) -> int:
    return sum(n for t, (n, _) in fp.items() if t.startswith("alembic_version"))


@pytest.mark.slow
def test_copy_100k_wanted_items_sqlite_to_postgresql_and_back(empty_database, capsys) -> None:
    source = boot(empty_database("sqlite"))
    postgres = boot(empty_database("postgresql"), auto_migrate=False)
    back = boot(empty_database("sqlite"), auto_migrate=False)
    try:
        started = time.monotonic()
        written = fill_database(source, rows=200, wanted=100_000)
        filled = time.monotonic()
        there = copy_database(source, postgres, batch_size=5000)
        copied_there = time.monotonic()
        home = copy_database(postgres, back, batch_size=5000)
        copied_back = time.monotonic()
        sums = [database_checksums(k, batch_size=5000) for k in (source, postgres, back)]
        compared = time.monotonic()
        assert sums[0] == sums[1] == sums[2]
        assert sums[0]["wanted_items"][0] == written["wanted_items"] == 100_000
        assert all(n > 0 for n, _ in sums[0].values()), "every table holds rows"
        assert there.rows == home.rows == sum(n for n, _ in sums[0].values())
        timings = {"fill": filled - started, "sqlite->postgresql": copied_there - filled,
                   "postgresql->sqlite": copied_back - copied_there, "checksums x3": compared - copied_back}
        with capsys.disabled():
            print("\n100k copy timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
                  + f" ({there.rows} rows per copy)")
        assert timings["sqlite->postgresql"] + timings["postgresql->sqlite"] < 60
    finally:
        back.close()
        postgres.close()
        source.close()

