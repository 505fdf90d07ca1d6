"""A killed ``db restore`` on MariaDB leaves the database as it was (issue 15, item 5).

MariaDB cannot roll DDL back, so the dump is replayed into a scratch database beside the live one and
swapped in by one ``RENAME TABLE``. Before: the dump was replayed into the live database, and a kill
half-way left it partly restored (tables dropped and recreated, some rows missing).
"""

from __future__ import annotations

import signal
import time

import psutil
import pytest
import sqlalchemy as sa

from sublarr.core.backup import backup, restore
from sublarr.core.transfer import database_checksums

from .helpers import boot, fill_database, start_python

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

WANTED = 20_000  # one INSERT per row in the dump: the replay takes long enough to be caught mid-way

KILLED_RESTORE = """
import sys
from sublarr import Kernel
from sublarr.core.backup import restore
kernel = Kernel.boot(database_url=sys.argv[1], settings_files=[], entry_points=False, redis_url="")
restore(kernel, sys.argv[2], safety_copy=False)
print("restored", flush=True)
"""


def _scratch_rows(kernel, scratch: str) -> int:
    with kernel.engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = :d "
                                      "AND TABLE_NAME = 'wanted_items'"), {"d": scratch}).scalar()
        return conn.exec_driver_sql(f"SELECT COUNT(*) FROM `{scratch}`.`wanted_items`").scalar() if exists else 0


def _live_rows(kernel) -> int | None:
    with kernel.engine.connect() as conn:
        try:
            return conn.exec_driver_sql("SELECT COUNT(*) FROM wanted_items").scalar()
        except sa.exc.DBAPIError:  # dropped and not yet recreated by a replay into the live database
            return None


def _leftovers(kernel, database: str) -> list[str]:
    with kernel.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN "
                                         "(:a, :b)"), {"a": f"{database}__restore", "b": f"{database}__replaced"})
                    .scalars())


def test_a_killed_mariadb_restore_leaves_the_database_as_it_was(empty_database, tmp_path) -> None:
    from sublarr.plugins import wanted

    url = empty_database("mariadb")
    database = sa.engine.make_url(url).database
    kernel = boot(url, backup_dir=str(tmp_path / "backups"))
    try:
        fill_database(kernel, rows=5, wanted=WANTED)
        saved = backup(kernel)
        wanted.upsert_wanted_item("movie", "/written/after/the/backup.mkv")
        before = database_checksums(kernel)

        proc = start_python(KILLED_RESTORE, url, str(saved.path))
        client, began = None, time.monotonic()
        while proc.poll() is None and time.monotonic() - began < 120:
            found = [c for c in psutil.Process(proc.pid).children(recursive=True) if c.name() == "mariadb"]
            # the replay is under way: rows in the scratch database (or, as before the fix, the live one changed)
            if found and (_scratch_rows(kernel, f"{database}__restore") > 0 or _live_rows(kernel) != WANTED + 1):
                client = found[0]
                break
            time.sleep(0.05)
        assert client is not None, proc.communicate()[1][-3000:] if proc.poll() is not None else "no replay seen"
        replayed = _scratch_rows(kernel, f"{database}__restore")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        psutil.wait_procs([client], timeout=10)
        assert not client.is_running() or client.status() == psutil.STATUS_ZOMBIE

        assert database_checksums(kernel) == before  # untouched, the row written after the backup included

        # the next restore drops the interrupted one's scratch database, completes and verifies
        assert _leftovers(kernel, database) == [f"{database}__restore"]
        result = restore(kernel, saved.path, safety_copy=False)
        assert _leftovers(kernel, database) == []
        assert result.manifest.rows["wanted_items"] == WANTED
        with kernel.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM wanted_items").scalar() == WANTED
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM wanted_items WHERE file_path = "
                                        "'/written/after/the/backup.mkv'").scalar() == 0
        print(f"\nFIGURES {{\"scenario\": \"mariadb_restore_killed\", \"dump_rows\": {WANTED}, "
              f"\"replayed_when_killed\": {replayed}, \"changed\": 0}}")
    finally:
        kernel.close()
