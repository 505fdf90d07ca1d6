"""python -m bench [--quick] [--check-only] [--only W1,W3]: run the workloads, write docs/BENCHMARKS.md.

W7 (a million wanted items per engine) runs in the full run only: --quick skips it, --check-only runs it
at 2,000 rows.

Servers: PostgreSQL from SUBLARR_BENCH_PG_URL or SUBLARR_TEST_PG_URL, MariaDB from
SUBLARR_BENCH_MARIADB_URL or SUBLARR_TEST_MARIADB_URL (admin URLs; a scratch database is created and
dropped on each), Redis from SUBLARR_BENCH_REDIS_URL or SUBLARR_TEST_REDIS_URL
(database 14 by default). Missing servers skip their workloads, and the report says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timezone

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.harness import Measure
from bench.targets import evaluate
from bench.workloads import Env, run_all

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "BENCHMARKS.md")
PG_ADMIN = os.environ.get("SUBLARR_BENCH_PG_URL") or os.environ.get(
    "SUBLARR_TEST_PG_URL", "postgresql://sublarr:sublarr-test-pw@127.0.0.1:5432/postgres")
MARIADB_ADMIN = os.environ.get("SUBLARR_BENCH_MARIADB_URL") or os.environ.get(
    "SUBLARR_TEST_MARIADB_URL", "mariadb://sublarr:sublarr-test-pw@127.0.0.1:3306/")
REDIS = os.environ.get("SUBLARR_BENCH_REDIS_URL") or os.environ.get("SUBLARR_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
if REDIS.endswith("/15"):
    REDIS = REDIS[:-3] + "/14"  # never share the test suite's Redis database


# scratch database per server: (admin URL, admin DBAPI, keep the admin URL's database, URL scheme for the
# kernel, CREATE, version query, DROP)
SERVERS = {
    "postgresql": (PG_ADMIN, "postgresql+psycopg2", True, "postgresql", 'CREATE DATABASE "{}"',
                   "SHOW server_version", 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'),
    "mariadb": (MARIADB_ADMIN, "mysql+mysqldb", False, "mariadb", "CREATE DATABASE `{}` CHARACTER SET utf8mb4",
                "SELECT VERSION()", "DROP DATABASE IF EXISTS `{}`"),
}


def _admin(server: str):
    admin_url, dbapi, keep_database, *_ = SERVERS[server]
    url = make_url(admin_url).set(drivername=dbapi)
    return create_engine(url if keep_database else url.set(database=None), isolation_level="AUTOCOMMIT",
                         connect_args={"connect_timeout": 5})


def make_database(server: str) -> tuple[str | None, str]:
    """A scratch database on ``server`` for this run: (its URL, the server version), or (None, why not)."""
    admin_url, _dbapi, _keep, scheme, create, version_sql, _drop = SERVERS[server]
    name = f"sublarr_bench_{os.getpid()}"
    try:
        engine = _admin(server)
        with engine.connect() as conn:
            conn.execute(text(create.format(name)))
            version = conn.execute(text(version_sql)).scalar()
        engine.dispose()
    except Exception as exc:
        return None, f"not reachable ({str(exc).splitlines()[0]})"
    return make_url(admin_url).set(drivername=scheme, database=name).render_as_string(hide_password=False), version


def drop_database(server: str, url: str) -> None:
    engine = _admin(server)
    with engine.connect() as conn:
        conn.execute(text(SERVERS[server][-1].format(make_url(url).database)))
    engine.dispose()


def redis_version() -> tuple[str | None, str]:
    try:
        import redis

        client = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        version = client.info()["redis_version"]
        client.flushdb()
        client.close()
        return REDIS, version
    except Exception as exc:
        return None, f"not reachable ({exc})"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return f"{value * 1000:.2f} ms"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "ops/s":
        return f"{value:,.0f}/s"
    return f"{value:.3f} s"


def render(results: list[Measure], machine: dict, args, plot: str | None) -> str:
    lines = ["# Benchmarks", "", f"Written by `python -m bench{' --quick' if args.quick else ''}` on "
             f"{machine['date']}. Each workload runs on our API and on the raw driver doing the same work, "
             "alternating, several repetitions; the tables show medians. Ratios are ours/raw time "
             "(for ops/s rows: raw rate / our rate), so below 1 means faster than the raw driver.", "",
             "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in machine.items() if k != "date"]
    lines += ["", "## Targets", "", "| workload | target | measured | verdict |", "|---|---|---|---|"]
    lines += [f"| {w} | {t} | {m} | {v} |" for w, t, m, v in evaluate(results)]
    lines += ["", "## Results", "", "| workload | ours | raw | ratio ours/raw | target | peak MB ours / raw | note |",
              "|---|---|---|---|---|---|---|"]
    for m in results:
        ratio = m.ratio
        if ratio is not None and m.unit == "ops/s":
            ratio = 1 / ratio  # time ratio: ours takes ratio × raw's time
        peaks = (f"{m.ours_peak_mb:.1f}" if m.ours_peak_mb is not None else "–") + " / " + (
            f"{m.raw_peak_mb:.1f}" if m.raw_peak_mb is not None else "–")
        lines.append(f"| {m.name} | {fmt(m.ours_median, m.unit)} | {fmt(m.raw_median, m.unit)} | "
                     f"{f'{ratio:.2f}×' if ratio is not None else '–'} | {m.target} | {peaks} | {m.note} |")
    if plot:
        lines += ["", "## Growth with row count", "", f"![W1 and W2 against row count (W7: 1,000,000)]({os.path.basename(plot)})"]
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        with open(analysis) as f:
            lines += ["", f.read().strip()]
    lines.append("")
    return "\n".join(lines)


def plot_growth(results: list[Measure], path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    series: dict[str, list[tuple[int, float]]] = {}
    for m in results:
        if not m.name.startswith(("W1", "W2", "W7")) or "series" not in m.tags and m.name.startswith("W7") or "page" in m.name and "page 1/" not in m.name:
            continue
        words = m.name.split()
        size = next(int(w.replace(",", "")) for w in words if w.replace(",", "").isdigit() and len(w) > 3)
        key = m.tags.get("series") or " ".join(w for w in words if not w.replace(",", "").isdigit())
        series.setdefault(key, []).append((size, m.ours_median))
    if not series or all(len(v) < 2 for v in series.values()):
        return None
    # One panel per workload (W1 writes, W2 reads), one colour per engine, one line style per operation:
    # a single panel with a colour per series ran out of distinct colours at twelve series.
    colours = {"sqlite": "tab:green", "postgresql": "tab:blue", "mariadb": "tab:orange"}
    styles = ["-", "--", ":", "-."]
    panels = sorted({key.split()[0] for key in series})
    titles = {"W1": "W1 upserts (one call, all rows)", "W2": "W2 reads (page 1 of 200 rows, summary)"}
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 5), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        keys = sorted(k for k in series if k.split()[0] == panel)
        operations = sorted({k.rsplit(" (", 1)[0] for k in keys})
        for key in keys:
            operation, _, engine = key.rpartition(" (")
            engine = engine.rstrip(")")
            points = sorted(series[key])
            label = f"{operation.removeprefix(panel + ' ').removesuffix(' of')} ({engine})"
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label,
                    color=colours.get(engine), linestyle=styles[operations.index(operation) % len(styles)])
        ax.set_xlabel("rows")
        ax.set_ylabel("seconds (median, ours)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        ax.set_title(titles.get(panel, panel))
    fig.suptitle("Growth with row count")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def size_list(text: str) -> list[int]:
    return [positive_int(part.strip()) for part in text.split(",")]


def workload_list(text: str) -> list[str]:
    chosen = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [w for w in chosen if w not in WORKLOADS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown workload {', '.join(unknown) or repr(text)} (choose from {', '.join(WORKLOADS)})")
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, finishes in under two minutes")
    parser.add_argument("--check-only", action="store_true", help="tiny sizes, one repetition, no report")
    parser.add_argument("--only", type=workload_list,
                        help=f"comma-separated workload ids of {', '.join(WORKLOADS)} (default: all; W7 not with --quick)")
    parser.add_argument("--w7-rows", type=positive_int, help="W7 row count (default 1000000)")
    parser.add_argument("--out", default=DOC, help="report path (docs/BENCHMARKS.md)")
    parser.add_argument("--sizes", type=size_list, help="W1/W2 row counts, comma-separated (default 10000,30000,100000)")
    parser.add_argument("--repeat", type=positive_int, help="repetitions of each measurement (default 5)")
    args = parser.parse_args()
    if not args.check_only:  # the report's folder is checked before the run, not after it
        folder = os.path.dirname(os.path.abspath(args.out))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            parser.error(f"--out: cannot create the folder {folder}: {exc.strerror}")
        if not os.access(folder, os.W_OK) or os.path.isdir(args.out):
            parser.error(f"--out: cannot write a report at {args.out}")
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("rq").setLevel(logging.WARNING)
    default = [w for w in WORKLOADS if w != "W7"] if args.quick else WORKLOADS  # W7 (10^6 rows): full run only
    selected = set(args.only or default)
    if args.check_only:
        sizes, repeat, calls, ops, jobs = [1000], 1, 200, 2000, 200
    elif args.quick:
        sizes, repeat, calls, ops, jobs = [10_000], 3, 500, 5_000, 500  # < 2 min on a slow day (2 cores)
    else:
        sizes, repeat, calls, ops, jobs = [10_000, 30_000, 100_000], 5, 5000, 100_000, 10_000
    w7_rows = args.w7_rows or (2_000 if args.check_only else 1_000_000)
    if args.sizes:
        sizes = args.sizes
    if args.repeat:
        repeat = args.repeat
    pg_url, pg_version = make_database("postgresql")
    mariadb_url, mariadb_version = make_database("mariadb")
    redis_url, redis_ver = redis_version()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sublarr-bench-") as folder:
        env = Env(sqlite_path=os.path.join(folder, "bench.db"), pg_url=pg_url, redis_url=redis_url, repeat=repeat,
                  sizes=sizes, calls=calls, cache_ops=ops, jobs=jobs, mariadb_url=mariadb_url,
                  w7_rows=w7_rows)
        try:
            results = run_all(env, selected, folder)
        finally:
            if pg_url:
                drop_database("postgresql", pg_url)
            if mariadb_url:
                drop_database("mariadb", mariadb_url)
    elapsed = time.perf_counter() - started
    for m in results:
        time_ratio = (1 / m.ratio if m.unit == "ops/s" else m.ratio) if m.ratio else None
        ratio = f"{time_ratio:.2f}x" if time_ratio else "-"
        print(f"{m.name:60s} ours {m.ours_median:10.4f}  raw {m.raw_median or 0:10.4f}  {ratio:>7s}  {m.note}")
    print(f"{len(results)} measurements in {elapsed:.1f} s")
    for workload, target, measured, verdict in evaluate(results):
        print(f"target {workload}: {target}: {measured}: {verdict.strip('*')}")
    if args.check_only:
        return 0 if results else 1
    machine = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
        "SQLite": sqlite3.sqlite_version, "PostgreSQL": pg_version, "MariaDB": mariadb_version, "Redis": redis_ver,
        "sizes": ", ".join(f"{s:,}" for s in sizes), "repetitions": repeat,
        **({"W7": f"{w7_rows:,} rows, 1 repetition of each upsert"} if "W7" in selected else {}),
    }
    plot = plot_growth(results, os.path.join(os.path.dirname(args.out), "benchmarks-growth.png"))
    with open(args.out, "w") as f:
        f.write(render(results, machine, args, plot))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
