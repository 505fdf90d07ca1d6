"""The pytest fixtures offered to plugin authors never write into the database a user points them at."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import SERVERS, boot

AUTHOR_TESTS = '''
def test_add(sublarr_kernel):
    from sublarr.plugins import blacklist
    blacklist.add_blacklist_entry("prov", "sub-1")
    assert blacklist.get_blacklist_count() == 1


def test_plugin(sublarr_plugin):
    kernel = sublarr_plugin()
    assert "wanted" in kernel.domains
'''


def _run_author_tests(folder: Path, url: str) -> subprocess.CompletedProcess:
    (folder / "test_author.py").write_text(AUTHOR_TESTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    env["SUBLARR_TEST_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_author.py"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def _databases(request, storage: str) -> set[str]:
    server = request.getfixturevalue(SERVERS[storage])
    query = ("SELECT datname FROM pg_database" if storage == "postgresql" else "SHOW DATABASES")
    with server.admin.connect() as conn:
        return set(conn.execute(sa.text(query)).scalars())


@pytest.mark.parametrize("storage", sorted(SERVERS))
def test_author_fixtures_work_in_scratch_databases_and_leave_none(storage, empty_database, request,
                                                                   tmp_path: Path) -> None:
    url = empty_database(storage)
    scratch = f"{sa.engine.make_url(url).database}_sublarr_test_"
    done = _run_author_tests(tmp_path, url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        assert sa.inspect(engine).get_table_names() == []  # the named database was never written
    finally:
        engine.dispose()
    assert [d for d in _databases(request, storage) if d.startswith(scratch)] == []  # every scratch one dropped


@pytest.mark.parametrize("storage", sorted(SERVERS))
def test_author_fixtures_refuse_a_database_with_sublarr_tables(storage, empty_database, tmp_path: Path) -> None:
    url = empty_database(storage)
    kernel = boot(url)
    try:
        from sublarr.plugins import blacklist

        blacklist.add_blacklist_entry("real", "data")
    finally:
        kernel.close()
    done = _run_author_tests(tmp_path, url)
    assert done.returncode != 0
    assert "holds sublarr tables" in done.stdout
    assert "sublarr-test-pw" not in done.stdout + done.stderr
    kernel = boot(url)
    try:
        assert blacklist.get_blacklist_count() == 1  # untouched
    finally:
        kernel.close()


@pytest.mark.parametrize("storage", sorted(SERVERS))
def test_an_interrupted_run_leaves_no_database_after_the_next(storage, request) -> None:
    """Databases of a test run that was killed (its process is gone) are dropped when the next run
    starts using the server; those of a run still going are kept."""
    from tests.conftest import drop_leftovers

    server = request.getfixturevalue(SERVERS[storage])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    stale, alive = f"sublarr_t_{dead_pid}_0", f"sublarr_t_{os.getppid()}_0"
    for name in (stale, alive):
        server.create(name)
    try:
        dropped = drop_leftovers(server, _databases(request, storage))
        assert stale in dropped and alive not in dropped
        assert stale not in _databases(request, storage) and alive in _databases(request, storage)
    finally:
        server.drop(stale)
        server.drop(alive)
