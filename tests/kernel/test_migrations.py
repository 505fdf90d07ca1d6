"""The migration machinery: linear histories, round trips, batch safety, concurrent boots."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from sublarr.core.errors import MigrationError
from sublarr.core.migrate import Migrator, static_heads
from tests.conftest import STORAGES, boot
from tests.kernel.sample_domain import SamplePlugin


def test_every_domain_has_a_single_head(kernel):
    heads = kernel.migrator.heads()  # raises MigrationError on a branched history
    assert set(heads) == {d.name for d in kernel.domains.values() if d.migrations}
    assert all(heads.values())
    for name in heads:
        revisions = [s.revision for s in kernel.migrator.history(name)]
        assert len(revisions) == len(set(revisions)), f"{name} repeats a revision id"
    assert not kernel.migrator.pending()


def test_heads_read_without_alembic_agree_with_alembic(kernel):
    """Boot reads heads from the revision files' literals; Alembic, importing them, must agree."""
    from sublarr_watchlist import plugin as watchlist  # a third-party history too

    domains = [d for d in kernel.domains.values() if d.migrations] + watchlist.sublarr_domains()
    migrator = Migrator(None, domains)
    for domain in domains:
        assert static_heads(Path(domain.migrations)) == tuple(migrator.scripts[domain.name].get_heads()), domain.name


def test_heads_fall_back_to_alembic_when_a_file_computes_them(tmp_path):
    (tmp_path / "0001_a.py").write_text("revision = 'a1'\ndown_revision = None\n"
                                        "def upgrade(): pass\ndef downgrade(): pass\n")
    (tmp_path / "0002_b.py").write_text("PARENT = 'a1'\nrevision = 'b' + '2'\ndown_revision = PARENT\n"
                                        "def upgrade(): pass\ndef downgrade(): pass\n")
    (tmp_path / "__init__.py").write_text("")
    assert static_heads(tmp_path) is None
    from sublarr.core.domain import Domain, Repository

    assert Migrator(None, [Domain("computed", Repository, migrations=tmp_path)]).heads() == {"computed": "b2"}
    (tmp_path / "0002_b.py").write_text("revision: str = 'b2'\ndown_revision: str | None = 'a1'\n")
    assert static_heads(tmp_path) == ("b2",)


def test_heads_read_from_the_head_of_a_file_only_when_the_rest_cannot_change_them(tmp_path):
    """The literals are read from the part before the first top-level definition; a rest that
    rebinds them, or a cut inside a string, makes the whole file count."""
    (tmp_path / "0001_a.py").write_text("revision = 'a1'\ndown_revision = None\n"
                                        "def upgrade(): pass\ndef downgrade(): pass\n")
    (tmp_path / "0002_b.py").write_text("revision = 'b1'\ndown_revision = 'a1'\n"
                                        "def upgrade(): pass\nrevision = 'b2'\n")
    assert static_heads(tmp_path) == ("b2",)
    (tmp_path / "0002_b.py").write_text('NOTE = """\ndef looks_like_code(): pass\n"""\nrevision = "b3"\n'
                                        "down_revision = 'a1'\ndef upgrade(): pass\n")
    assert static_heads(tmp_path) == ("b3",)
    (tmp_path / "0002_b.py").write_text("revision = 'b4'\ndown_revision = 'a1'\n@decorated\ndef upgrade(): pass\n")
    assert static_heads(tmp_path) == ("b4",)


UP_TO_DATE_BOOT = textwrap.dedent("""
    import sys
    from sublarr import Kernel
    with Kernel.boot(database_url=sys.argv[1], settings_files=[], entry_points=False, redis_url="") as k:
        k.repo("wanted").get_wanted_count()
    print(sorted(m for m in sys.modules if m.split(".")[0] in ("alembic", "mako")))
""")


@pytest.mark.parametrize("storage", STORAGES)
def test_boot_on_an_up_to_date_database_does_not_load_alembic(storage, empty_database):
    url = empty_database(storage)
    boot(url).close()  # migrated to head
    result = subprocess.run([sys.executable, "-c", UP_TO_DATE_BOOT, url], capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_two_heads_fail_loudly(tmp_path):
    (tmp_path / "0001_a.py").write_text("revision = 'x1'\ndown_revision = None\n"
                                        "def upgrade(): pass\ndef downgrade(): pass\n")
    (tmp_path / "0002_b.py").write_text("revision = 'x2'\ndown_revision = None\n"
                                        "def upgrade(): pass\ndef downgrade(): pass\n")
    from sublarr.core.domain import Domain, Repository

    migrator = Migrator(None, [Domain("twoheads", Repository, migrations=tmp_path)])
    with pytest.raises(MigrationError, match="2 migration heads"):
        migrator.heads()


@pytest.mark.parametrize("storage", STORAGES)
def test_round_trip_all_domains(storage, empty_database):
    url = empty_database(storage)
    with boot(url) as kernel:
        tables = set(inspect(kernel.engine).get_table_names())
        owned = {t.name for d in kernel.domains.values() for t in d.tables}
        assert owned <= tables
        kernel.migrator.downgrade("base")
        left = set(inspect(kernel.engine).get_table_names())
        assert not (owned & left), f"downgrade left {owned & left}"
        assert all(rev is None for rev in kernel.migrator.current().values())
        kernel.migrator.upgrade()
        assert not kernel.migrator.pending()
        assert owned <= set(inspect(kernel.engine).get_table_names())


@pytest.mark.parametrize("storage", STORAGES)
def test_batch_migration_keeps_child_rows(storage, empty_database):
    """Bazarr 0ddadb273: a table copy with foreign keys ON cascaded deletes into child tables."""
    url = empty_database(storage)
    with boot(url, auto_migrate=False, extra_plugins=[SamplePlugin()]) as kernel:
        kernel.migrator.upgrade(domain="sample", revision="sample_0001")
        with kernel.engine.begin() as conn:
            conn.execute(text("INSERT INTO sample_parent (id, name) VALUES (1, 'p')"))
            conn.execute(text("INSERT INTO sample_child (id, parent_id) VALUES (10, 1), (11, 1)"))
        kernel.migrator.upgrade(domain="sample")
        with kernel.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sample_child")).scalar() == 2
            assert conn.execute(text("SELECT note FROM sample_parent")).scalar() == ""
            if storage == "sqlite":  # the migration connection went back to the pool with FKs on
                assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        kernel.migrator.downgrade("sample_0001", domain="sample")
        with kernel.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sample_child")).scalar() == 2


def test_downgrade_needs_a_domain(kernel):
    with pytest.raises(MigrationError, match="DOMAIN:REVISION"):
        kernel.migrator.downgrade("config_0001")


CONCURRENT_BOOT = textwrap.dedent("""
    import sys
    from sublarr import Kernel
    k = Kernel.boot(database_url=sys.argv[1], redis_url="", settings_files=[], entry_points=False)
    print(len(k.migrator.pending()))
    k.close()
""")


@pytest.mark.parametrize("storage", STORAGES)
def test_concurrent_boot_migrates_once(storage, empty_database, caplog):
    """Four processes booting together on a fresh database: one migrates, all succeed."""
    url = empty_database(storage)
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_BOOT, url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
        assert out.strip() == "0"
    with boot(url, auto_migrate=False) as kernel:
        assert not kernel.migrator.pending()
        with kernel.engine.connect() as conn:
            for domain in kernel.domains.values():
                if domain.migrations:
                    rows = conn.execute(text(f"SELECT count(*) FROM {domain.version_table}")).scalar()
                    assert rows == 1, domain.name
