"""PostgreSQL restarted (``pg_ctl restart -m fast``) while 4 threads write through one kernel.

What must hold (LESSONS.md, "PostgreSQL"):

- every write either commits or raises a clear error to its caller: a connection error
  (``sqlalchemy.exc.OperationalError`` / ``InterfaceError``) naming the cause, never a hang
  (every call is timed; the server's own restart is bounded by ``pg_ctl -t 60``);
- after the restart new work succeeds on the SAME kernel (``pool_pre_ping`` replaces the pooled
  connections the restart killed): no error once the server is back;
- callers that retry idempotent writes (wanted upserts, keyed by identity) leave exactly one row
  per item; counters written by non-idempotent increments (``record_search``) count every call
  that reported success, and at most the calls whose outcome the caller could not know (an error
  raised after the server may have committed).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import sqlalchemy.exc
from sqlalchemy import func, select

from sublarr.plugins.providers.models import provider_stats
from sublarr.plugins.wanted.models import wanted_items
from tests.conftest import boot
from tests.fault.conftest import report

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

THREADS = 4
RESTARTS = 3
CALL_LIMIT = 20.0  # seconds: no single call may take longer (db_connect_timeout is 5 s below)
RETRY_LIMIT = 60.0  # seconds an idempotent write is retried before the test gives up on it
CONNECTION_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)


@dataclass
class Tally:
    searches_ok: Counter = field(default_factory=Counter)  # provider -> record_search calls that returned
    searches_failed: Counter = field(default_factory=Counter)  # provider -> calls that raised
    wanted_paths: set = field(default_factory=set)  # every path whose upsert eventually returned
    upsert_retries: int = 0
    errors: list = field(default_factory=list)  # (monotonic time, exception)
    unexpected: list = field(default_factory=list)
    slowest: float = 0.0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, fn, *args, **kwargs):
        started = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            took = time.monotonic() - started
            with self.lock:
                self.calls += 1
                self.slowest = max(self.slowest, took)

    def failed(self, exc: BaseException) -> None:
        with self.lock:
            self.errors.append((time.monotonic(), exc))
            if not isinstance(exc, CONNECTION_ERRORS):
                self.unexpected.append(exc)


def writer(kernel, number: int, stop: threading.Event, tally: Tally) -> None:
    providers = kernel.repo("providers")
    wanted = kernel.repo("wanted")
    provider = f"provider-{number}"
    rng = random.Random(number)
    item = 0
    while not stop.is_set():
        # a non-idempotent increment: counted by what the caller saw
        try:
            tally.timed(providers.record_search, provider, True, rng.uniform(5, 500))
            with tally.lock:
                tally.searches_ok[provider] += 1
        except Exception as exc:
            with tally.lock:
                tally.searches_failed[provider] += 1
            tally.failed(exc)
        # an idempotent upsert: retried until it returns, as a careful caller does
        item += 1
        path = f"/library/thread{number}/episode{item:05d}.mkv"
        deadline = time.monotonic() + RETRY_LIMIT
        while True:
            try:
                tally.timed(wanted.upsert_wanted_item, "episode", path, title=f"t{number}-{item}",
                            missing_languages=["de"], target_language="de")
                with tally.lock:
                    tally.wanted_paths.add(path)
                break
            except Exception as exc:
                tally.failed(exc)
                with tally.lock:
                    tally.upsert_retries += 1
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)


def test_writes_survive_restarts_with_exact_counts(private_pg):
    url = private_pg.create_database("restart_writes")
    kernel = boot(url, db_pool_size=THREADS, db_pool_max_overflow=2, db_connect_timeout=5)
    try:
        stop = threading.Event()
        tally = Tally()
        threads = [threading.Thread(target=writer, args=(kernel, n, stop, tally), name=f"writer-{n}", daemon=True)
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()
        windows = []  # (restart began, server back) in monotonic time
        time.sleep(1.5)
        for _ in range(RESTARTS):
            began = time.monotonic()
            private_pg.restart()
            windows.append((began, time.monotonic()))
            time.sleep(2.0)  # writes go on after the server is back
        stop.set()
        for thread in threads:
            thread.join(timeout=CALL_LIMIT + RETRY_LIMIT)
        assert not any(t.is_alive() for t in threads), "a writer hung"

        # every failure was a clear connection error, raised while the server was away
        assert not tally.unexpected, [f"{type(e).__name__}: {e}" for e in tally.unexpected[:5]]
        for _, exc in tally.errors:
            assert private_pg.password not in str(exc)
        grace = 3.0  # a call that began before "server back" may still end on a connection killed by the restart
        late = [exc for at, exc in tally.errors if not any(b <= at <= e + grace for b, e in windows)]
        assert not late, f"errors outside the restart windows: {[str(e).splitlines()[0] for e in late[:5]]}"
        assert tally.slowest < CALL_LIMIT, f"a call took {tally.slowest:.1f} s"

        # new work on the same kernel, after the last restart: first try, every time
        providers = kernel.repo("providers")
        for n in range(20):
            providers.record_search("after-restart", n % 2 == 0, 10.0)
        assert providers.get_provider_stats("after-restart")["total_searches"] == 20

        # counts in the database against what the callers saw
        with kernel.engine.connect() as conn:
            paths = list(conn.execute(select(wanted_items.c.file_path).where(wanted_items.c.file_path.like("/library/thread%")))
                         .scalars())
            stored = dict(conn.execute(select(provider_stats.c.provider_name, provider_stats.c.total_searches)
                                       .where(provider_stats.c.provider_name.like("provider-%"))).all())
            duplicates = conn.execute(
                select(func.count()).select_from(
                    select(wanted_items.c.file_path).group_by(wanted_items.c.file_path, wanted_items.c.target_language,
                                                          wanted_items.c.subtitle_type)
                    .having(func.count() > 1).subquery())).scalar_one()
        assert duplicates == 0
        assert len(paths) == len(set(paths)) == len(tally.wanted_paths)
        assert set(paths) == tally.wanted_paths, "an acknowledged upsert is missing, or an unacknowledged one exists"
        ambiguous = 0
        for provider, ok in tally.searches_ok.items():
            failed = tally.searches_failed[provider]
            # committed >= acknowledged; an error may hide a commit whose reply was lost
            assert ok <= stored[provider] <= ok + failed, (provider, ok, failed, stored[provider])
            ambiguous += stored[provider] - ok
        assert kernel.storage.engine is kernel.engine  # the same kernel and pool all along
        report("postgresql_restart", threads=THREADS, restarts=RESTARTS,
               restart_seconds=[round(e - b, 2) for b, e in windows], calls=tally.calls,
               errors_seen_by_callers=len(tally.errors), upsert_retries=tally.upsert_retries,
               wanted_rows=len(paths), record_search_acknowledged=sum(tally.searches_ok.values()),
               record_search_failed=sum(tally.searches_failed.values()),
               record_search_stored=sum(stored.values()), committed_but_reported_failed=ambiguous,
               slowest_call_s=round(tally.slowest, 2),
               error_kinds=sorted({str(e.orig).splitlines()[0][:80] if getattr(e, "orig", None) else str(e)[:80]
                                   for _, e in tally.errors})[:6],
               lost=0)
    finally:
        kernel.close()


def test_reads_and_writes_work_right_after_a_restart_without_reboot(private_pg):
    """A kernel idle during the restart: its first call afterwards succeeds (pre-ping), no error."""
    url = private_pg.create_database("restart_idle")
    kernel = boot(url, db_pool_size=3, db_connect_timeout=5)
    try:
        config = kernel.repo("config")
        wanted = kernel.repo("wanted")
        # fill the pool with connections that the restart will kill
        barrier = threading.Barrier(3)

        def use() -> None:
            with kernel.engine.connect() as conn:
                barrier.wait(timeout=10)
                conn.exec_driver_sql("select 1")

        workers = [threading.Thread(target=use) for _ in range(3)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=15)
        assert kernel.engine.pool.checkedin() == 3
        private_pg.restart()
        # every pooled connection is dead now; each checkout must replace it, invisibly
        for n in range(10):
            config.save_config_entry(f"key-{n}", f"value-{n}")
            assert config.get_config_entry(f"key-{n}") == f"value-{n}"
        item = wanted.upsert_wanted_item("movie", "/movies/after.mkv")
        assert wanted.get_wanted_item(item)["file_path"] == "/movies/after.mkv"
    finally:
        kernel.close()


def test_server_down_gives_a_clear_error_then_recovers(private_pg):
    """While the server is stopped, calls fail fast with a connection error; afterwards they work."""
    url = private_pg.create_database("restart_down")
    kernel = boot(url, db_connect_timeout=3)
    try:
        config = kernel.repo("config")
        config.save_config_entry("before", "1")
        private_pg.stop()
        try:
            started = time.monotonic()
            with pytest.raises(CONNECTION_ERRORS) as caught:
                config.save_config_entry("during", "1")
            assert time.monotonic() - started < 10
            message = str(caught.value)
            assert "connection" in message.lower() or "server" in message.lower()
            assert private_pg.password not in message
        finally:
            private_pg.start()
        config.save_config_entry("after", "1")
        assert config.get_all_config_entries() == {"before": "1", "after": "1"}
    finally:
        kernel.close()
