"""A revision that fails half-way: rolled back where DDL is transactional, reported where it is not.

MariaDB commits each schema statement, so a revision that dies after its first statement leaves it
applied and the version table behind. The migration journal makes the next migration say so
(which domain, which revisions, how to recover) instead of failing on "table already exists".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sublarr.core.domain import Domain, Repository
from sublarr.core.errors import MigrationError
from sublarr.core.hookspecs import hookimpl
from tests.conftest import STORAGES, boot

FIRST = '''"""journal 1

Revision ID: journal_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "journal_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("journal_a", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("journal_a")
'''

SECOND = '''"""journal 2: two statements; the test breaks it between them

Revision ID: journal_0002
Revises: journal_0001
"""
import os

import sqlalchemy as sa
from alembic import op

revision = "journal_0002"
down_revision = "journal_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("journal_b", sa.Column("id", sa.Integer(), primary_key=True))
    if os.environ.get("SUBLARR_TEST_BREAK_JOURNAL"):
        raise RuntimeError("the process died in the middle of journal_0002")
    op.create_index("idx_journal_b_id", "journal_b", ["id"])


def downgrade():
    op.drop_table("journal_b")
'''


class JournalRepository(Repository):
    domain = "journal"


class JournalPlugin:
    def __init__(self, folder: Path):
        self.folder = folder

    @hookimpl
    def sublarr_domains(self):
        return [Domain(name="journal", repository=JournalRepository, migrations=self.folder)]


@pytest.fixture
def journal_plugin(tmp_path: Path) -> JournalPlugin:
    folder = tmp_path / "journal_migrations"
    folder.mkdir()
    (folder / "0001.py").write_text(FIRST)
    (folder / "0002.py").write_text(SECOND)
    return JournalPlugin(folder)


def _tables(kernel) -> set[str]:
    return set(sa.inspect(kernel.engine).get_table_names())


@pytest.mark.parametrize("storage", STORAGES)
def test_a_revision_broken_half_way(storage: str, empty_database, journal_plugin, monkeypatch) -> None:
    kernel = boot(empty_database(storage), auto_migrate=False, extra_plugins=[journal_plugin])
    try:
        kernel.migrator.upgrade("journal", "journal_0001")
        monkeypatch.setenv("SUBLARR_TEST_BREAK_JOURNAL", "1")
        with pytest.raises(RuntimeError, match="died in the middle"):
            kernel.migrator.upgrade("journal")
        assert kernel.migrator.current()["journal"] == "journal_0001"  # the first revision finished
        monkeypatch.delenv("SUBLARR_TEST_BREAK_JOURNAL")

        if kernel.storage.features.transactional_ddl:
            # rolled back as a whole: nothing to report, and migrating again simply works
            assert "journal_b" not in _tables(kernel)
            assert kernel.migrator.interrupted() == []
        else:
            # half-applied, and every later migration says so instead of failing on "already exists"
            assert "journal_b" in _tables(kernel)
            [found] = kernel.migrator.interrupted()
            assert (found.domain, found.from_revision, found.to_revision, found.now_at) == (
                "journal", "journal_0001", "head", "journal_0001")
            for _ in range(2):
                with pytest.raises(MigrationError, match=r"journal from journal_0001 to head .* did not finish; "
                                   r"mariadb cannot roll back .*sublarr db resolve journal"):
                    kernel.migrator.upgrade()
            with pytest.raises(MigrationError, match="did not finish"):
                kernel.migrator.downgrade("base", "journal")
            # the operator repairs the schema (here: undoes the half step) and resolves
            with kernel.engine.begin() as conn:
                conn.execute(sa.text("DROP TABLE journal_b"))
            assert kernel.migrator.resolve("journal") is True
            assert kernel.migrator.resolve("journal") is False
        kernel.migrator.upgrade()
        assert kernel.migrator.current()["journal"] == "journal_0002"
        assert kernel.migrator.interrupted() == []
        kernel.migrator.downgrade("base", "journal")  # journaled too, and finishes cleanly
        assert kernel.migrator.current()["journal"] is None
        assert kernel.migrator.interrupted() == []
    finally:
        kernel.close()


def test_cli_check_and_resolve_an_interrupted_migration(empty_database, journal_plugin, monkeypatch, tmp_path) -> None:
    from click.testing import CliRunner

    from sublarr.cli.api import Context
    from sublarr.cli.db import db
    from sublarr.core.configuration import Configuration

    url = empty_database("mariadb")
    kernel = boot(url, auto_migrate=False, extra_plugins=[journal_plugin])
    try:
        kernel.migrator.upgrade("journal", "journal_0001")
        monkeypatch.setenv("SUBLARR_TEST_BREAK_JOURNAL", "1")
        with pytest.raises(RuntimeError):
            kernel.migrator.upgrade("journal")
        monkeypatch.delenv("SUBLARR_TEST_BREAK_JOURNAL")
        with kernel.engine.begin() as conn:  # the operator repairs the schema
            conn.execute(sa.text("DROP TABLE journal_b"))
    finally:
        kernel.close()
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)

    def run(*args):
        configuration = Configuration(settings_files=[], extra_plugins=[journal_plugin], entry_points=False,
                                      database_url=url, redis_url="")
        context = Context(configuration=configuration)
        try:
            return runner.invoke(db, list(args), obj=context)
        finally:
            context.close()

    checked = run("check")
    assert checked.exit_code == 1 and "did not finish" in str(checked.exception)
    refused = run("resolve", "wanted")  # nothing recorded for it
    assert refused.exit_code == 1 and "recorded: journal" in str(refused.exception)
    resolved = run("resolve", "journal")
    assert resolved.exit_code == 0, resolved.output
    assert "records revision journal_0001" in resolved.output
    assert run("upgrade").exit_code == 0
    assert run("check").exit_code == 0
