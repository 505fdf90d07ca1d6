"""The workloads W1..W6, each on our API and on the raw driver doing the same work."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from bench.harness import Measure, alternate, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class Env:
    """Where the workloads run: one database per storage driver, Redis when reachable."""

    sqlite_path: str
    pg_url: str | None
    redis_url: str | None
    repeat: int
    sizes: list[int]
    calls: int  # W3 calls per thread
    cache_ops: int  # W4
    jobs: int  # W5
    mariadb_url: str | None = None
    w7_rows: int = 1_000_000  # W7 (bench/w7.py)

    def storages(self) -> list[tuple[str, str]]:
        out = [("sqlite", f"sqlite:///{self.sqlite_path}")]
        if self.pg_url:
            out.append(("postgresql", self.pg_url))
        if self.mariadb_url:
            out.append(("mariadb", self.mariadb_url))
        return out


def boot(url: str, **overrides):
    from sublarr import Kernel

    overrides.setdefault("redis_url", "")
    return Kernel.boot(database_url=url, settings_files=[], entry_points=False, **overrides)


# -- W1 / W2: wanted items ----------------------------------------------------------------------------

def make_items(n: int) -> list[dict]:
    return [{
        "item_type": "episode", "file_path": f"/tv/Show {i // 1000:03d}/Season 01/Show - S01E{i % 1000:03d}.mkv",
        "title": f"Show {i // 1000} - Episode {i % 1000}", "season_episode": f"S01E{i % 1000:03d}",
        "existing_sub": "srt" if i % 3 == 0 else "", "missing_languages": ["de"], "sonarr_series_id": i // 1000,
        "sonarr_episode_id": i, "target_language": "de", "instance_name": "main", "current_score": i % 360,
    } for i in range(n)]


RAW_COLUMNS = ("item_type", "sonarr_series_id", "sonarr_episode_id", "radarr_movie_id", "title", "season_episode",
               "file_path", "existing_sub", "missing_languages", "status", "added_at", "updated_at",
               "upgrade_candidate", "current_score", "target_language", "instance_name", "standalone_series_id",
               "standalone_movie_id", "subtitle_type")
_UPDATED = [c for c in RAW_COLUMNS if c not in ("file_path", "target_language", "subtitle_type", "added_at",
                                                 "status", "item_type")]


def raw_upsert_sql(param: str) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in _UPDATED)
    return (f"INSERT INTO wanted_items ({', '.join(RAW_COLUMNS)}) VALUES {param} "
            f"ON CONFLICT (file_path, target_language, subtitle_type) DO UPDATE SET {sets}, "
            "status = CASE WHEN wanted_items.status = 'ignored' THEN wanted_items.status ELSE excluded.status END, "
            "item_type = CASE WHEN wanted_items.status = 'ignored' THEN wanted_items.item_type "
            "ELSE excluded.item_type END")


def raw_mariadb_upsert_sql() -> str:
    """The same upsert in MariaDB's words: VALUES(c) is the proposed row; item_type is assigned before
    status, since each assignment sees the ones before it."""
    sets = ", ".join(f"{c} = VALUES({c})" for c in _UPDATED)
    return (f"INSERT INTO wanted_items ({', '.join(RAW_COLUMNS)}) VALUES ({', '.join(['%s'] * len(RAW_COLUMNS))}) "
            f"ON DUPLICATE KEY UPDATE {sets}, "
            "item_type = IF(status = 'ignored', item_type, VALUES(item_type)), "
            "status = IF(status = 'ignored', status, VALUES(status))")


def raw_rows(items: list[dict]) -> list[tuple]:
    from sublarr.core.timeutil import now_iso

    now = now_iso()
    return [(it["item_type"], it["sonarr_series_id"], it["sonarr_episode_id"], None, it["title"],
             it["season_episode"], it["file_path"], it["existing_sub"], json.dumps(it["missing_languages"]),
             "wanted", now, now, 0, it["current_score"], it["target_language"], it["instance_name"], None, None,
             "full") for it in items]


class RawDb:
    """The raw driver (sqlite3, psycopg2 or MySQLdb) on the same database as the kernel."""

    def __init__(self, storage: str, url: str):
        self.storage = storage
        if storage == "sqlite":
            self.conn = sqlite3.connect(make_url(url).database, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA busy_timeout=5000")
        elif storage == "mariadb":
            import MySQLdb

            u = make_url(url)
            self.conn = MySQLdb.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password,
                                        database=u.database, charset="utf8mb4")
            with self.conn.cursor() as cur:  # what the driver sets too: the legacy (binary) text order
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_nopad_bin")
        else:
            import psycopg2

            u = make_url(url)
            self.conn = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                                         dbname=u.database)

    def upsert(self, items: list[dict]) -> None:
        rows = raw_rows(items)
        if self.storage == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany(raw_upsert_sql("(" + ", ".join("?" * len(RAW_COLUMNS)) + ")"), rows)
            self.conn.execute("COMMIT")
        elif self.storage == "mariadb":
            with self.conn.cursor() as cur:
                cur.executemany(raw_mariadb_upsert_sql(), rows)  # MySQLdb sends multi-row INSERTs
            self.conn.commit()
        else:
            from psycopg2.extras import execute_values

            with self.conn.cursor() as cur:
                execute_values(cur, raw_upsert_sql("%s"), rows, page_size=1000)
            self.conn.commit()

    def query(self, sql: str, params: tuple = ()) -> list:
        if self.storage == "sqlite":
            return self.conn.execute(sql, params).fetchall()
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            rows = cur.fetchall() if cur.description else []
        self.conn.commit()
        return rows

    def dicts(self, sql: str, params: tuple = ()) -> list[dict]:
        """Rows as column -> value dicts, as the legacy layer returned them (``dict(sqlite3.Row)``)."""
        if self.storage == "sqlite":
            cur = self.conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur]
        with self.conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur]
        self.conn.commit()
        return rows

    def page(self, status: str, page: int, per_page: int) -> dict:
        """The same result as ``get_wanted_items``: every column, ``missing_languages`` parsed."""
        total = self.query("SELECT count(*) FROM wanted_items WHERE status = ?", (status,))[0][0]
        rows = self.dicts("SELECT * FROM wanted_items WHERE status = ? ORDER BY added_at DESC, id DESC "
                          "LIMIT ? OFFSET ?", (status, per_page, (page - 1) * per_page))
        for row in rows:
            row["missing_languages"] = json.loads(row["missing_languages"] or "[]")
        return {"data": rows, "page": page, "per_page": per_page, "total": total,
                "total_pages": max(1, -(-total // per_page))}

    def summary(self) -> dict:
        q = self.query
        return {
            "total": q("SELECT count(*) FROM wanted_items")[0][0],
            "by_type": dict(q("SELECT item_type, count(*) FROM wanted_items GROUP BY item_type")),
            "by_status": dict(q("SELECT status, count(*) FROM wanted_items GROUP BY status")),
            "by_existing": dict(q("SELECT existing_sub, count(*) FROM wanted_items GROUP BY existing_sub")),
            "upgradeable": q("SELECT count(*) FROM wanted_items WHERE upgrade_candidate = 1")[0][0],
        }

    def clear(self) -> None:
        if self.storage == "sqlite":
            self.conn.execute("DELETE FROM wanted_items")
        elif self.storage == "mariadb":
            self.query("TRUNCATE wanted_items")  # resets AUTO_INCREMENT too
        else:
            self.query("TRUNCATE wanted_items RESTART IDENTITY")

    def close(self) -> None:
        self.conn.close()


def w1_w2(env: Env) -> list[Measure]:
    results = []
    for storage, url in env.storages():
        kernel = boot(url)
        raw = RawDb(storage, url)
        repo = kernel.repo("wanted")
        try:
            for n in env.sizes:
                items = make_items(n)
                results.append(alternate(Measure(f"W1 insert {n:,} ({storage})", target="≤ 1.5×",
                                                 tags={"w": "W1", "storage": storage, "n": n}),
                                         lambda: repo.upsert_wanted_items(items), lambda: raw.upsert(items),
                                         env.repeat, setup=raw.clear))
                results.append(alternate(Measure(f"W1 re-upsert {n:,} ({storage})", target="≤ 1.5×",
                                                 tags={"w": "W1", "storage": storage, "n": n}),
                                         lambda: repo.upsert_wanted_items(items), lambda: raw.upsert(items),
                                         env.repeat, setup=lambda: None))
                # W2 reads the table as a library scan through the kernel leaves it: W1 ended with a raw
                # write (peak memory of raw last), which skips the driver's after_bulk_write upkeep.
                repo.upsert_wanted_items(items)
                last = max(1, n // 200)
                pages = sorted({1, max(1, last // 2), last})  # the middle page skips the most rows
                for page in pages:  # the same work: both sides return the same rows
                    ours_page = repo.get_wanted_items(page=page, per_page=200, status="wanted")
                    raw_page = raw.page("wanted", page, 200)
                    if ours_page != raw_page:
                        raise RuntimeError(f"W2 page {page} ({storage}): ours and raw differ")
                for page, label in ((p, f"page {p}") for p in pages):
                    results.append(alternate(
                        Measure(f"W2 {label}/200 of {n:,} ({storage})", target="≤ 2×", unit="ms",
                                tags={"w": "W2", "storage": storage, "n": n, "page": page}),
                        lambda p=page: repo.get_wanted_items(page=p, per_page=200, status="wanted"),
                        lambda p=page: raw.page("wanted", p, 200), env.repeat * 3, memory=False))
                results.append(alternate(Measure(f"W2 summary of {n:,} ({storage})", target="≤ 2×", unit="ms",
                                                 tags={"w": "W2", "storage": storage, "n": n}),
                                         repo.get_wanted_summary, raw.summary, env.repeat * 3, memory=False))
                raw.clear()
        finally:
            raw.close()
            kernel.close()
    return results


# -- W3: provider stats from threads -------------------------------------------------------------------

def w3(env: Env) -> list[Measure]:
    results = []
    for storage, url in env.storages():
        kernel = boot(url, db_pool_size=8)
        repo = kernel.repo("providers")
        for threads in (1, 4):
            name = f"bench-{threads}"
            errors: list[BaseException] = []

            # each thread is one provider (Sublarr searches its providers in parallel): one row each,
            # so PostgreSQL can commit them side by side instead of queueing on one row lock
            def ours(threads=threads, name=name, errors=errors):
                def run(worker):
                    for _ in range(env.calls):
                        try:
                            repo.record_search(f"{name}-{worker}", True, 120.0)
                        except Exception as exc:  # counted, not raised: the workload reports errors
                            errors.append(exc)

                with ThreadPoolExecutor(threads) as pool:
                    for f in [pool.submit(run, w) for w in range(threads)]:
                        f.result()

            def raw_run(threads=threads):
                def run(worker):
                    db = RawDb(storage, url)
                    sql = ("INSERT INTO provider_stats (provider_name, total_searches, last_success_at, updated_at) "
                           "VALUES (?, 1, ?, ?) ON CONFLICT (provider_name) DO UPDATE SET "
                           "total_searches = provider_stats.total_searches + 1, "
                           "last_success_at = excluded.last_success_at, updated_at = excluded.updated_at")
                    if storage == "mariadb":
                        sql = ("INSERT INTO provider_stats (provider_name, total_searches, last_success_at, "
                               "updated_at) VALUES (?, 1, ?, ?) ON DUPLICATE KEY UPDATE "
                               "total_searches = total_searches + 1, last_success_at = VALUES(last_success_at), "
                               "updated_at = VALUES(updated_at)")
                    for _ in range(env.calls):
                        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000")
                        if storage == "sqlite":
                            db.conn.execute("BEGIN IMMEDIATE")
                            db.conn.execute(sql, (f"raw-{threads}-{worker}", stamp, stamp))
                            db.conn.execute("COMMIT")
                        else:
                            db.query(sql, (f"raw-{threads}-{worker}", stamp, stamp))
                    db.close()

                with ThreadPoolExecutor(threads) as pool:
                    for f in [pool.submit(run, w) for w in range(threads)]:
                        f.result()

            m = Measure(f"W3 record_search {threads} thread(s) × {env.calls:,} ({storage})", unit="ops/s",
                        target="PG 4 threads ≥ 1.5× 1 thread; SQLite exact")
            alternate(m, ours, raw_run, env.repeat, memory=False)
            total = env.calls * threads
            m.ours = [total / t for t in m.ours]
            m.raw = [total / t for t in m.raw]
            counted = sum(repo.get_provider_stats(f"{name}-{w}").get("total_searches", 0) for w in range(threads))
            expected = total * env.repeat
            m.tags = {"w": "W3", "storage": storage, "threads": threads, "errors": len(errors),
                      "exact": counted == expected}
            m.note = (f"errors {len(errors)}; counters {counted} of {expected} "
                      f"{'exact' if counted == expected else 'LOST UPDATES'}")
            results.append(m)
        kernel.close()
        if storage == "sqlite":
            results.append(w3_processes(env, url, 4))
    return results


_RAW_SEARCH_SQLITE = ("INSERT INTO provider_stats (provider_name, total_searches, last_success_at, updated_at) "
                      "VALUES (?, 1, ?, ?) ON CONFLICT (provider_name) DO UPDATE SET "
                      "total_searches = provider_stats.total_searches + 1, "
                      "last_success_at = excluded.last_success_at, updated_at = excluded.updated_at")


def _w3_process(url: str, name: str, calls: int, raw: bool, ready, results) -> None:
    """One W3 process: boots its own kernel (or opens sqlite3) on the shared SQLite file, waits for the
    others, then counts ``calls`` searches under ``name``; reports (seconds, errors)."""
    if raw:
        db = RawDb("sqlite", url)

        def one():
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000")
            db.conn.execute("BEGIN IMMEDIATE")
            db.conn.execute(_RAW_SEARCH_SQLITE, (name, stamp, stamp))
            db.conn.execute("COMMIT")
    else:
        kernel = boot(url)
        repo = kernel.repo("providers")

        def one():
            repo.record_search(name, True, 120.0)
    errors = 0
    ready.wait()
    start = time.perf_counter()
    for _ in range(calls):
        try:
            one()
        except Exception:  # counted, not raised: the workload reports errors
            errors += 1
    results.put((time.perf_counter() - start, errors))
    if raw:
        db.close()
    else:
        kernel.close()


def w3_processes(env: Env, url: str, processes: int) -> Measure:
    """W3 from ``processes`` processes on one SQLite file, each booting its own kernel (raw: its own
    sqlite3 connection): SQLite's busy_timeout arbitrates between them, not the driver's write lock.
    Timed from the moment all are ready to the last one's end (boot is not timed); each process is one
    provider, as in the thread variant."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # fresh interpreters: nothing of this process's pools
    m = Measure(f"W3 record_search {processes} processes × {env.calls:,} (sqlite)", unit="ops/s",
                target="SQLite exact")
    errors = 0
    for i in range(env.repeat):
        for raw in ((False, True) if i % 2 == 0 else (True, False)):
            ready, results = context.Barrier(processes), context.Queue()
            procs = [context.Process(target=_w3_process, args=(url, f"{'raw' if raw else 'proc'}-{w}", env.calls,
                                                               raw, ready, results)) for w in range(processes)]
            for proc in procs:
                proc.start()
            reports = [results.get(timeout=600) for _ in procs]
            for proc in procs:
                proc.join(60)
                if proc.exitcode != 0:
                    raise RuntimeError(f"a W3 process failed (exit code {proc.exitcode})")
            seconds = max(r[0] for r in reports)
            (m.raw if raw else m.ours).append(env.calls * processes / seconds)
            if not raw:
                errors += sum(r[1] for r in reports)
    kernel = boot(url)
    repo = kernel.repo("providers")
    counted = sum(repo.get_provider_stats(f"proc-{w}").get("total_searches", 0) for w in range(processes))
    kernel.close()
    expected = env.calls * processes * env.repeat
    m.tags = {"w": "W3", "storage": "sqlite", "processes": processes, "errors": errors,
              "exact": counted == expected}
    m.note = (f"errors {errors}; counters {counted} of {expected} "
              f"{'exact' if counted == expected else 'LOST UPDATES'}; each process boots its own kernel")
    return m


# -- W4: cache ----------------------------------------------------------------------------------------

def w4(env: Env, sqlite_url: str) -> list[Measure]:
    results = []
    n = env.cache_ops
    keys = [f"k{i}" for i in range(n)]
    kernel = boot(sqlite_url, memory_cache_max_entries=n * 2)
    cache = kernel.cache

    def ours_memory():
        for k in keys:
            cache.set(k, "v")
        for k in keys:
            cache.get(k)

    m = alternate(Measure(f"W4 memory cache set+get {n:,}", unit="ops/s", target="≥ 200k ops/s",
                          tags={"w": "W4", "driver": "memory"}),
                  ours_memory, None, env.repeat)
    m.ours = [2 * n / t for t in m.ours]
    results.append(m)
    kernel.close()
    if env.redis_url:
        import redis

        kernel = boot(sqlite_url, redis_url=env.redis_url, queue_driver="memory")
        cache = kernel.cache
        client = redis.Redis.from_url(env.redis_url, decode_responses=True)

        def ours_redis():
            for k in keys:
                cache.set(k, "v")
            for k in keys:
                cache.get(k)

        def raw_redis():
            for k in keys:
                client.set(f"raw:{k}", "v")
            for k in keys:
                client.get(f"raw:{k}")

        results.append(alternate(Measure(f"W4 redis cache set+get {n:,}", target="≤ 1.2×", tags={"w": "W4", "driver": "redis"}), ours_redis,
                                 raw_redis, env.repeat, memory=False))
        cache.clear("")
        for key in client.scan_iter("raw:*"):
            client.delete(key)
        client.close()
        kernel.close()
    return results


# -- W5: queue ------------------------------------------------------------------------------------------

def _w5_held(kernel, run) -> tuple[float, int]:
    """MB of Python memory a queue still holds after ``run`` (tracemalloc, untimed), and its tracked jobs."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    return max(held, 0) / 2**20, kernel.queue.info()["tracked"]


def w5_memory(env: Env, sqlite_url: str) -> list[Measure]:
    """The memory queue (2 workers) against a bare ThreadPoolExecutor(2) running the same no-op jobs,
    with retention 0 and the default retention, at ``env.jobs`` and 10× as many (10k and 100k in a full
    run). Memory: what a fresh queue still holds after one run, and the jobs it tracks after all of them."""
    from concurrent.futures import wait as futures_wait

    from bench.jobs import noop

    def raw_all(n: int) -> None:
        with ThreadPoolExecutor(2) as pool:
            futures_wait([pool.submit(noop) for _ in range(n)])

    def ours_all(queue, n: int) -> None:
        for _ in range(n):
            queue.enqueue(noop)
        while queue.queue_length() or queue.active_jobs():
            time.sleep(0.001)

    results = []
    for n in (env.jobs, env.jobs * 10):
        for overrides in ({"queue_job_retention_seconds": 0}, {}):
            kernel = boot(sqlite_url, queue_workers=2, **overrides)
            retention = kernel.settings.queue_job_retention_seconds
            # first an untimed run on the fresh queue, under tracemalloc: what the queue still holds after it
            held_mb, held_tracked = _w5_held(kernel, lambda: ours_all(kernel.queue, n))
            m = alternate(Measure(f"W5 memory queue enqueue+drain {n:,} (retention {retention:,} s)",
                                  target="≤ 2×", tags={"w": "W5", "driver": "memory", "n": n,
                                                       "retention": retention}),
                          lambda: ours_all(kernel.queue, n), lambda: raw_all(n), env.repeat, memory=False)
            tracked, runs = kernel.queue.info()["tracked"], env.repeat + 1
            kernel.close()
            m.tags.update(tracked=tracked, runs=runs, held_mb=held_mb, held_tracked=held_tracked)
            m.ours_peak_mb = held_mb
            m.note = (f"raw: ThreadPoolExecutor(2); {tracked:,} jobs tracked after {runs} runs; peak column: "
                      f"MB still held after the first run ({held_tracked:,} tracked)")
            results.append(m)
    return results


def w5(env: Env, sqlite_url: str) -> list[Measure]:
    from bench.jobs import noop

    results = w5_memory(env, sqlite_url)
    n = env.jobs
    if env.redis_url:
        from redis import Redis
        from rq import Queue, SimpleWorker

        kernel = boot(sqlite_url, redis_url=env.redis_url, cache_driver="memory", queue_name="bench")
        queue = kernel.queue
        conn = Redis.from_url(env.redis_url)
        raw_queue = Queue("bench-raw", connection=conn)

        def clear():
            Queue("bench", connection=conn).empty()
            raw_queue.empty()

        results.append(alternate(Measure(f"W5 RQ enqueue {n:,}", target="≤ 1.3×", tags={"w": "W5", "driver": "rq"}),
                                 lambda: [queue.enqueue(noop) for _ in range(n)],
                                 lambda: [raw_queue.enqueue(noop) for _ in range(n)], env.repeat, setup=clear,
                                 memory=False))
        clear()
        for _ in range(n):
            queue.enqueue(noop)
        drain = Measure(f"W5 RQ drain {n:,} (SimpleWorker burst)")
        drain.ours.append(timed(lambda: queue.work(stop=lambda: True, burst=True)))
        for _ in range(n):
            raw_queue.enqueue(noop)
        drain.raw.append(timed(lambda: SimpleWorker([raw_queue], connection=conn).work(burst=True, logging_level="WARNING")))
        results.append(drain)
        clear()
        conn.close()
        kernel.close()
    return results


# -- W6: `sublarr status` ---------------------------------------------------------------------------------

# Each run is forked by a small launcher process: a child forked straight from this benchmark process
# (hundreds of MB after W1-W5) reports the parent's resident pages, copied at fork, as its own peak RSS.
_LAUNCH = """
import json, os, subprocess, sys, time
argv, cwd = json.loads(sys.argv[1])
start = time.perf_counter()
proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_pid, status, usage = os.wait4(proc.pid, 0)
print(json.dumps([time.perf_counter() - start, usage.ru_maxrss / 1024, status, usage.ru_utime + usage.ru_stime]))
"""

# the raw counterpart: the same database read with sqlite3 (tables, row counts, the pragmas shown)
_RAW_STATUS = """
import sqlite3
conn = sqlite3.connect("sublarr.db")
names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
counts = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}
pragmas = [conn.execute(f"PRAGMA {p}").fetchone() for p in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")]
print(len(counts), pragmas)
"""

# the floor under any process built on the same libraries: a process importing the third-party modules
# a `sublarr status` run on the same database has loaded (everything outside the standard library and
# outside sublarr and its plugins, ``sublarr*``), in the order it loaded them; what they import of the
# standard library comes with them, what only sublarr imports of it counts as sublarr's. The list is taken
# from such a run, so it follows what status really imports on this machine (SQLAlchemy's ORM only when
# an installed plugin maps declarative models; Flask and Jinja2 when dynaconf finds them installed)
# instead of a list that has to be kept true by hand.
_CENSUS = """
import contextlib, io, json, runpy, sys
sys.argv = ["sublarr", "status"]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("sublarr.cli", run_name="__main__", alter_sys=True)
    except SystemExit as exit:
        if exit.code:
            raise
print(json.dumps([name for name in sys.modules if not name.startswith("sublarr")
                  and name.split(".")[0] not in sys.stdlib_module_names and name != "__main__"]))
"""
_FLOOR = """
import gc, importlib, json, sys
for name in json.load(open(sys.argv[1])):
    try:
        importlib.import_module(name)
    except Exception:
        pass
gc.freeze()  # as `sublarr` does on its way out: the exit's collections are not a dependency's cost
"""


def _census(folder: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """(path of the JSON list of modules the floor imports, the third-party sublarr plugins installed)."""
    from importlib import metadata

    out = subprocess.run([sys.executable, "-c", _CENSUS], cwd=folder, env=env, capture_output=True, text=True,
                         check=True)
    path = os.path.join(folder, "w6-floor-modules.json")
    with open(path, "w") as f:
        f.write(out.stdout)
    plugins = sorted(f"{ep.name} ({ep.value})" for ep in metadata.entry_points(group="sublarr"))
    return path, plugins


def _launch(argv: list[str], folder: str, env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds: user + system) of one process."""
    out = subprocess.run([sys.executable, "-c", _LAUNCH, json.dumps([argv, folder])], env=env,
                         capture_output=True, text=True, check=True)
    seconds, rss_mb, status, cpu = json.loads(out.stdout)
    if status != 0:
        raise RuntimeError(f"{argv} failed (status {status})")
    return seconds, rss_mb, cpu


def w6(env: Env, folder: str) -> list[Measure]:
    import statistics

    clean = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    # bytecode as an installed package has it (pip compiles at install time): the first run may write
    # it, where PYTHONDONTWRITEBYTECODE would otherwise have every run compile the sources again
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    ours_argv = [sys.executable, "-m", "sublarr.cli", "status"]
    subprocess.run(ours_argv, cwd=folder, env=clean, capture_output=True, check=True)  # migrate once
    modules, plugins = _census(folder, clean)
    floor_argv = [sys.executable, "-c", _FLOOR, modules]
    with open(modules) as f:
        imported = len(json.load(f))
    status = Measure("W6 `sublarr status` (whole process, up-to-date db)", target="≤ 0.5 s, ≤ 80 MB RSS",
                     tags={"w": "W6", "what": "status"})
    floor = Measure("W6 floor: a process importing the dependencies `sublarr status` imports",
                    tags={"w": "W6", "what": "floor"})
    # the kernel's own cost: status minus floor of the same round (the two launched back to back), so
    # that the load of a shared machine, which moves both, cancels out of each difference
    own = Measure("W6 kernel's own cost: `sublarr status` − floor, per round", tags={"w": "W6", "what": "own"})
    rss: dict[str, list[float]] = {"ours": [], "raw": [], "floor": []}
    cpu: dict[str, list[float]] = {"ours": [], "raw": [], "floor": []}
    for _ in range(max(5, env.repeat)):
        for key, argv in (("ours", ours_argv), ("raw", [sys.executable, "-c", _RAW_STATUS]),
                          ("floor", floor_argv)):
            seconds, rss_mb, cpu_seconds = _launch(argv, folder, clean)
            rss[key].append(rss_mb)
            cpu[key].append(cpu_seconds)
            {"ours": status.ours, "raw": status.raw, "floor": floor.ours}[key].append(seconds)
        own.ours.append(status.ours[-1] - floor.ours[-1])
    status.ours_peak_mb, status.raw_peak_mb, floor.ours_peak_mb = (max(rss[k]) for k in ("ours", "raw", "floor"))
    own.ours_peak_mb = status.ours_peak_mb - floor.ours_peak_mb
    status.note = "raw: the same reads with sqlite3; peak = max RSS of the process"
    floor.note = (f"no sublarr code: imports the {imported} third-party modules a `status` run loaded (not sublarr's, "
                  "not the plugins', not the standard library's), in its order; the part only fewer dependencies "
                  "could remove")
    # CPU time (user + system) of the same processes: what the load of other processes on the machine
    # does not inflate, so the figure to compare across runs when the wall times swing
    own.tags["cpu"] = statistics.median(o - f for o, f in zip(cpu["ours"], cpu["floor"]))
    installed = (f"installed plugins, counted here: {', '.join(plugins)}" if plugins
                 else "no third-party plugin installed")
    own.note = (f"sublarr's modules, the 28 built-in Core tables, plugin loading, settings, boot and the status reads "
                f"({installed}); "
                f"CPU time (user+sys) over the floor's: {own.tags['cpu']:.3f} s (status "
                f"{statistics.median(cpu['ours']):.3f} s, floor {statistics.median(cpu['floor']):.3f} s); "
                "peak = RSS over the floor's")
    return [status, floor, own]


def run_all(env: Env, selected: set[str], folder: str) -> list[Measure]:
    sqlite_url = f"sqlite:///{os.path.join(folder, 'bench-misc.db')}"
    out: list[Measure] = []
    if selected & {"W1", "W2"}:
        out += w1_w2(env)
    if "W3" in selected:
        out += w3(env)
    if "W4" in selected:
        out += w4(env, sqlite_url)
    if "W5" in selected:
        out += w5(env, sqlite_url)
    if "W6" in selected:
        out += w6(env, folder)
    if "W7" in selected:
        from bench.w7 import w7

        out += w7(env)
    return out

