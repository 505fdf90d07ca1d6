"""The service killed with SIGKILL during a write and during a migration.

After every kill the database must open cleanly (``PRAGMA integrity_check`` is ``ok`` on
SQLite), every domain must be at one well-defined revision of its own history (the Alembic env
runs with ``transaction_per_migration``), the next boot must finish the migrations, and no
acknowledged write may be lost or half-applied (a batch upsert is one transaction).
"""

from __future__ import annotations

import queue
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.conftest import boot
from tests.fault.conftest import kill_process, report, subprocess_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BATCH = 250
WRITE_KILLS = 5

WRITER = r"""
import sys
from sublarr import Kernel

url, run, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
kernel = Kernel.boot(database_url=url, settings_files=[], entry_points=False, redis_url="")
wanted, providers = kernel.repo("wanted"), kernel.repo("providers")
print("ready", flush=True)
batch = 0
while True:
    batch += 1
    wanted.upsert_wanted_items([{"item_type": "episode", "file_path": f"/kill/{run}/{batch:05d}/{j:03d}.mkv",
                                 "title": "t" * 300, "missing_languages": ["de", "fr"]} for j in range(size)])
    print(f"batch {batch}", flush=True)
    providers.record_search(f"kill-{run}", True, 12.5)
    print(f"search {batch}", flush=True)
"""

MIGRATOR = r"""
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(name)s: %(message)s")
logging.getLogger("sublarr.migrate").setLevel(logging.INFO)
from sublarr import Kernel

print("booting", flush=True)
Kernel.boot(database_url=sys.argv[1], settings_files=[], entry_points=False, redis_url="").close()
print("booted", flush=True)
"""


class Child:
    """A child process whose stdout lines a thread collects, so reading never blocks past a timeout."""

    def __init__(self, script: str, *args: str, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-c", script, *args], cwd=cwd, env=subprocess_env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)  # end of output

    def read_until(self, predicate, timeout: float = 120) -> list[str]:
        """Lines up to the first one ``predicate`` accepts; fails on end of output or after ``timeout``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no expected line within {timeout} s: {seen[-5:]}") from None
            if line is None:
                raise AssertionError(f"child ended early ({self.process.wait()}): {seen[-5:]} "
                                     f"{self.process.stderr.read()[-2000:]}")
            seen.append(line)
            if predicate(line):
                return seen

    def kill(self) -> list[str]:
        """SIGKILL; returns the lines printed before the kill that were not read yet."""
        kill_process(self.process)
        self.reader.join(timeout=10)
        rest = []
        while not self.lines.empty():
            line = self.lines.get()
            if line is not None:
                rest.append(line)
        self.process.stderr.close()
        return rest


def integrity(url: str) -> str:
    if not url.startswith("sqlite"):
        return "n/a"
    raw = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return raw.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        raw.close()


def check_revisions(kernel) -> dict[str, str | None]:
    """Every domain at None or one revision of its own history; one row per version table."""
    current = kernel.migrator.current()
    for domain in kernel.migrator.domains:
        known = {script.revision for script in kernel.migrator.history(domain.name)}
        assert current[domain.name] is None or current[domain.name] in known, (domain.name, current[domain.name])
    with kernel.engine.connect() as conn:
        names = inspect(conn).get_table_names()
        assert not [n for n in names if n.startswith("_alembic_tmp")], names
        for name in names:
            if name.startswith("alembic_version"):
                quoted = conn.dialect.identifier_preparer.quote_identifier(name)
                assert conn.execute(text(f"select count(*) from {quoted}")).scalar_one() <= 1, name
        conn.rollback()
    return current


def schema_of(url: str) -> dict:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        insp = inspect(engine)
        return {table: ([c["name"] for c in insp.get_columns(table)],
                        sorted(i["name"] for i in insp.get_indexes(table)),
                        sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table)))
                for table in sorted(insp.get_table_names())}
    finally:
        engine.dispose()


# -- killed during writes ----------------------------------------------------------------------------

def test_sigkill_during_writes_loses_no_acknowledged_batch(database_url, storage, tmp_path):
    rng = random.Random(20261125)
    acknowledged_rows = 0
    kills = []
    for round_ in range(WRITE_KILLS):
        child = Child(WRITER, database_url, str(round_), str(BATCH), cwd=tmp_path)
        lines: list[str] = []
        try:
            child.read_until(lambda line: line == "ready")
            target = rng.randint(2, 8)
            lines = child.read_until(lambda line, t=target: line == f"batch {t}" or line == f"search {t}")
            time.sleep(rng.uniform(0, 0.05))  # somewhere inside the next write
        finally:
            rest = child.kill()  # lines printed before the kill that we had not read yet
        done = [int(m.group(1)) for m in (re.match(r"batch (\d+)", line) for line in [*lines, *rest]) if m]
        acked = max(done)
        kills.append(acked)
        assert integrity(database_url) in ("ok", "n/a")
        kernel = boot(database_url)  # opens cleanly, nothing left to migrate
        try:
            assert all(r.up_to_date for r in kernel.migrator.status())
            check_revisions(kernel)
            with kernel.engine.connect() as conn:
                per_batch = dict(conn.execute(text(
                    "select substr(file_path, 1, :n), count(*) from wanted_items where file_path like :p "
                    "group by substr(file_path, 1, :n)"), {"n": len(f"/kill/{round_}/00000/"),
                                                             "p": f"/kill/{round_}/%"}).all())
                searches = conn.execute(text("select total_searches from provider_stats where provider_name = :p"),
                                        {"p": f"kill-{round_}"}).scalar() or 0
            assert set(per_batch.values()) == {BATCH}, "a batch was half-written"
            # every acknowledged batch is there; at most the one in flight beyond it
            assert acked <= len(per_batch) <= acked + 1, (acked, len(per_batch))
            assert len(per_batch) - 1 <= searches <= len(per_batch)
            acknowledged_rows += acked * BATCH
            # the service goes on writing after the crash
            kernel.repo("wanted").upsert_wanted_item("episode", f"/kill/{round_}/after.mkv")
        finally:
            kernel.close()
    assert integrity(database_url) in ("ok", "n/a")
    report(f"sigkill_during_writes_{storage}", kills=WRITE_KILLS, batch_rows=BATCH, acknowledged_batches=kills,
           acknowledged_rows=acknowledged_rows, integrity=integrity(database_url), half_written_batches=0, lost=0)


# -- killed during migrations ------------------------------------------------------------------------

def nth_migration(k: int):
    """A predicate for :meth:`Child.read_until`: true at the k-th "migrating <domain>" line, or at "booted"."""
    seen = 0

    def predicate(line: str) -> bool:
        nonlocal seen
        if line.startswith("sublarr.migrate: migrating"):
            seen += 1
        return line == "booted" or seen >= k

    return predicate


@pytest.mark.parametrize("storage_name", ["sqlite", "postgresql"])
def test_sigkill_during_the_first_migration(storage_name, empty_database, tmp_path):
    """Fresh databases, killed after the k-th domain began migrating: one revision per domain, and the
    next boot reaches the same schema as an uninterrupted migration."""
    reference_url = empty_database(storage_name)
    boot(reference_url).close()
    reference = schema_of(reference_url)
    rng = random.Random(7)
    outcomes = []
    for k in (1, 3, 5, 8, 11, 14):
        url = empty_database(storage_name)
        child = Child(MIGRATOR, url, cwd=tmp_path)
        try:
            seen = child.read_until(nth_migration(k))
            if seen[-1] != "booted":
                time.sleep(rng.uniform(0, 0.03))
        finally:
            child.kill()
        assert integrity(url) in ("ok", "n/a"), url
        kernel = boot(url, auto_migrate=False)
        try:
            before = check_revisions(kernel)
        finally:
            kernel.close()
        boot(url).close()  # the next boot finishes the job
        assert integrity(url) in ("ok", "n/a")
        assert schema_of(url) == reference
        outcomes.append(sum(1 for rev in before.values() if rev is not None))
    report(f"sigkill_during_first_migration_{storage_name}", kills=len(outcomes),
           domains_at_a_revision_when_killed=outcomes, resumed_schema_equal=True, lost=0)


def test_sigkill_during_a_table_rebuild_on_sqlite(tmp_path, empty_database):
    """wanted_0002 rebuilds wanted_items (batch mode, duplicates removed) on a big table: a kill at any
    moment leaves wanted at 0001 with every row, or past 0002 with the deduplicated rows.

    An uninterrupted run first measures how long the migrations take from "migrating wanted" on;
    the kills then land at fractions of that time, so some hit the rebuild and some come after it.
    """
    template = Path(empty_database("sqlite").removeprefix("sqlite:///"))
    url = f"sqlite:///{template}"
    kernel = boot(url)
    kernel.migrator.downgrade("wanted_0001", domain="wanted")
    kernel.close()
    rows, distinct = 60_000, 50_000
    raw = sqlite3.connect(template)
    with raw:
        raw.executemany(
            "insert into wanted_items (item_type, title, file_path, status, added_at, updated_at, target_language,"
            " subtitle_type) values ('episode', 'x', ?, 'wanted', '2026-01-01', '2026-01-01', 'de', 'full')",
            ((f"/big/{n % distinct:06d}.mkv",) for n in range(rows)))
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()

    def run(name: str, kill_after: float | None) -> tuple[str, float]:
        db = tmp_path / f"rebuild-{name}.db"
        shutil.copyfile(template, db)
        child = Child(MIGRATOR, f"sqlite:///{db}", cwd=tmp_path)
        try:
            child.read_until(lambda line: line.startswith("sublarr.migrate: migrating wanted"))
            began = time.monotonic()
            if kill_after is None:
                child.read_until(lambda line: line == "booted")
            else:
                time.sleep(kill_after)
        finally:
            child.kill()
        return f"sqlite:///{db}", time.monotonic() - began

    _, full = run("uninterrupted", None)
    outcomes = []
    for fraction in (0.0, 0.3, 0.6, 0.9, 1.3):
        url, _ = run(f"{fraction}", fraction * full)
        assert integrity(url) == "ok"
        kernel = boot(url, auto_migrate=False)
        try:
            revision = check_revisions(kernel)["wanted"]
            with kernel.engine.connect() as conn:
                count = conn.execute(text("select count(*) from wanted_items")).scalar_one()
                top = conn.execute(text("select max(id) from wanted_items")).scalar_one()
                seq = conn.execute(text("select seq from sqlite_sequence where name = 'wanted_items'")).scalar_one()
        finally:
            kernel.close()
        assert count == (rows if revision == "wanted_0001" else distinct), (revision, count)
        assert seq >= top  # the AUTOINCREMENT counter never goes back (ids of deleted rows stay unused)
        outcomes.append(revision)
        kernel = boot(url)  # finishes the migrations
        try:
            assert kernel.repo("wanted").get_wanted_count() == distinct
        finally:
            kernel.close()
        assert integrity(url) == "ok"
    assert "wanted_0001" in outcomes, "no kill landed before the rebuild committed"
    report("sigkill_during_table_rebuild_sqlite", rows=rows, distinct=distinct, migration_s=round(full, 2),
           kills=len(outcomes), wanted_revision_after_kill=outcomes, integrity="ok", lost=0)
