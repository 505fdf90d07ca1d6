"""The storage seam: what differs per engine lives in the storage drivers, nowhere else.

Core and domain code ask ``kernel.storage`` (its methods and ``features``); they never compare an
engine's name. Revision files are the one exception: a revision may choose DDL per dialect.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import sublarr
from sublarr.drivers.base import StorageDriver, StorageFeatures
from sublarr.drivers.mariadb import MariadbStorage
from sublarr.drivers.postgresql import PostgresqlStorage
from sublarr.drivers.sqlite import SqliteStorage

ROOT = Path(sublarr.__file__).parent
ENGINE_NAMES = {"sqlite", "postgresql", "postgres", "mysql", "mariadb"}


def _sources() -> list[Path]:
    files = [*(ROOT / "core").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    return sorted(p for p in files if "migrations" not in p.parts)


def _names_an_engine(value: object) -> bool:
    """An engine's name, or a name of the engine's own objects ("sqlite_sequence", "sqlite_%")."""
    text = str(value).lower()
    return text in ENGINE_NAMES or any(text.startswith(name + "_") for name in ENGINE_NAMES)


def _engine_branches(path: Path) -> list[str]:
    """Comparisons with an engine's name (``dialect.name``, or a literal such as "sqlite") and per-engine
    type variants. Naming an engine in a message is fine, and so is matching a backup's driver with
    the configured one (``manifest.driver != storage.name``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if isinstance(operand, ast.Constant) and _names_an_engine(operand.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: compares with {operand.value!r}")
                if (isinstance(operand, ast.Attribute) and operand.attr == "name"
                        and isinstance(operand.value, ast.Attribute) and operand.value.attr == "dialect"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: compares .{operand.value.attr}.name")
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("startswith", "endswith")
                and any(isinstance(a, ast.Constant) and _names_an_engine(a.value) for a in node.args)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: matches a name of an engine's own")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "with_variant":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: with_variant (a type per engine)")
    return found


def test_no_core_or_domain_code_branches_on_an_engine_name() -> None:
    sources = _sources()
    assert len(sources) > 50
    found = [hit for path in sources for hit in _engine_branches(path)]
    assert found == []


def test_the_checker_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("if conn.dialect.name == 'sqlite':\n    pass\nif kernel.storage.name != 'mariadb':\n    pass\n"
                      "T = Text().with_variant(X(), 'sqlite')\n"
                      "skip = name.startswith('sqlite_') or name == 'sqlite_sequence'\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        # dialect.name, two literals, with_variant, an engine's own table by prefix and by name
        assert len(_engine_branches(sample)) == 6
    finally:
        ROOT = saved


@pytest.mark.parametrize("driver", [SqliteStorage, PostgresqlStorage, MariadbStorage])
def test_each_builtin_driver_states_what_differs(driver: type[StorageDriver]) -> None:
    assert isinstance(driver.features, StorageFeatures)
    assert driver.backup_suffix.startswith(".") and driver.backup_suffix != StorageDriver.backup_suffix
    for method in ("create_engine", "migration_lock", "backup", "restore", "describe"):
        assert getattr(driver, method) is not getattr(StorageDriver, method), f"{driver.name} lacks {method}"
    # an upsert: ON CONFLICT through the dialect's insert (insert_module), or its own spelling
    assert driver.insert_module or driver.upsert is not StorageDriver.upsert
    suffixes = {d.backup_suffix for d in (SqliteStorage, PostgresqlStorage, MariadbStorage)}
    assert len(suffixes) == 3  # a backup's file name tells its engine


def test_a_missing_mysqlclient_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    # the package is absent for this process only (None in sys.modules makes its import fail)
    code = ("import sys; sys.modules['MySQLdb'] = None; from sublarr.cli import main; "
            "sys.argv = ['sublarr', 'status']; main()")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    env["SUBLARR_DATABASE_URL"] = "mariadb://sublarr:not-shown@127.0.0.1:1/nothing"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'sublarr[mariadb]'" in lines[0] and "database_url" in lines[0]
    assert "not-shown" not in done.stderr


def test_no_bound_value_in_a_database_error(kernel, caplog) -> None:
    """Bound values hold secrets (webhook secrets, URL tokens, API keys): SQLAlchemy's
    "[parameters: ...]" part of an error must never show them, on any engine, nor the engine log."""
    import logging

    import sqlalchemy as sa

    secret = "hunter2-webhook-secret"
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    with pytest.raises(sa.exc.DBAPIError) as failed, kernel.engine.connect() as conn:
        conn.execute(sa.text("SELECT no_such_column FROM webhook_configs WHERE secret = :s"), {"s": secret})
    assert secret not in str(failed.value)
    assert "parameters hidden" in str(failed.value)
    assert secret not in caplog.text


@pytest.mark.parametrize("storage", ["postgresql", "mariadb"])
def test_a_real_deadlock_is_a_conflict_and_is_retried(storage, empty_database) -> None:
    """Two transactions that lock two rows in opposite order: the engine rolls one back, the driver
    recognises it (``is_conflict``), and ``retry_conflicts`` runs that whole transaction again."""
    import threading

    import sqlalchemy as sa

    from tests.conftest import boot

    kernel = boot(empty_database(storage))
    try:
        from sublarr.plugins import config

        config.save_config_entry("a", "0")
        config.save_config_entry("b", "0")
        entries = sa.table("config_entries", sa.column("key"), sa.column("value"))
        both_locked_one = threading.Barrier(2)
        attempts = []

        def transaction(first: str, second: str) -> None:
            attempts.append(first)
            with kernel.engine.begin() as conn:
                conn.execute(entries.update().where(entries.c.key == first).values(value="1"))
                if len(attempts) <= 2:
                    both_locked_one.wait(10)  # the first round: each holds one row, then wants the other
                conn.execute(entries.update().where(entries.c.key == second).values(value="2"))

        failures: list[BaseException] = []

        def run(first: str, second: str) -> None:
            try:
                kernel.storage.retry_conflicts(lambda: transaction(first, second))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=run, args=pair) for pair in (("a", "b"), ("b", "a"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert failures == []
        assert len(attempts) == 3  # two first tries, one of them lost the deadlock and ran again
        assert kernel.storage.is_conflict(ValueError("not a database error")) is False
    finally:
        kernel.close()


# -- prepared writes (StorageDriver.prepare / run_writes): the hot counter path ----------------------

def _stats_statements(kernel):
    import sqlalchemy as sa

    from sublarr.plugins.providers.repository import stats

    count = kernel.storage.prepare(kernel.storage.upsert(
        stats, {"provider_name": sa.bindparam("name", type_=sa.Text()), "total_searches": 1,
                "avg_response_time_ms": sa.bindparam("rt", type_=stats.c.avg_response_time_ms.type)},
        key=["provider_name"], update={"total_searches": stats.c.total_searches + 1}))
    insert = kernel.storage.prepare(stats.insert().values(provider_name=sa.bindparam("name", type_=sa.Text())))
    return count, insert


def test_prepared_writes_are_one_transaction_and_fail_as_sqlalchemy_does(kernel) -> None:
    """Every engine: the steps commit together or not at all, row counts come back, a failing step
    raises the sqlalchemy.exc class a Connection raises (no bound value in it), a missing parameter
    raises StatementError before anything is sent."""
    import sqlalchemy as sa

    providers = kernel.repo("providers")
    count, insert = _stats_statements(kernel)
    counts = kernel.storage.run_writes([(count, {"name": "a", "rt": 2}), (count, {"name": "a", "rt": None})])
    assert len(counts) == 2 and counts[0] == 1 and counts[1] >= 1  # MariaDB counts an updated row twice
    assert providers.get_provider_stats("a")["total_searches"] == 2
    assert providers.get_provider_stats("a")["avg_response_time_ms"] == 2.0
    with pytest.raises(sa.exc.IntegrityError) as failed:
        kernel.storage.run_writes([(count, {"name": "b", "rt": 1}), (insert, {"name": "secret-name-a"}),
                                   (insert, {"name": "secret-name-a"})])
    assert "secret-name-a" not in str(failed.value)
    assert providers.get_provider_stats("b") == {}  # the first step was rolled back with the rest
    assert providers.get_provider_stats("secret-name-a") == {}
    with pytest.raises(sa.exc.StatementError, match="A value is required for bind parameter 'rt'"):
        kernel.storage.run_writes([(count, {"name": "c"})])
    assert kernel.storage.run_writes([(count, {"name": "a", "rt": 1})])  # the connection is still usable
    assert providers.get_provider_stats("a")["total_searches"] == 3


def test_sqlite_writer_connection_is_closed_by_dispose_and_not_shared_with_a_fork(tmp_path) -> None:
    """SQLite runs prepared writes on one writer connection per process: engine.dispose() (restore,
    adopt, kernel close) closes it, so the last close still removes the WAL files; a forked child
    opens its own instead of writing through its parent's."""
    import os

    from tests.conftest import boot

    db = tmp_path / "w.db"
    kernel = boot(f"sqlite:///{db}")
    providers = kernel.repo("providers")
    try:
        providers.record_search("p", True, 10.0)
        kernel.engine.dispose()
        assert kernel.storage._writer is None
        providers.record_search("p", False)
        parent_writer = kernel.storage._writer
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            try:
                providers.record_search("p", True)
                ok = kernel.storage._writer is not parent_writer and kernel.storage._writer[0] == os.getpid()
            except BaseException:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert kernel.storage._writer is parent_writer
        providers.record_search("p", True)
        assert providers.get_provider_stats("p")["total_searches"] == 4
    finally:
        kernel.close()
    assert not (tmp_path / "w.db-wal").exists()
    assert not (tmp_path / "w.db-shm").exists()
