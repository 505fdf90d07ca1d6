"""W7: a library of a million wanted items on every engine, fed from generators (issue 18 item 4).

Both sides stream their input: ours gets a generator of item dicts into
``upsert_wanted_items_in_batches`` (the call for a scan of this size: a transaction per batch of 5,000,
memory bounded by the batch), raw gets the same rows in chunks inside one transaction, so neither
side's time includes building a million dicts up front. Peak memory is measured separately
(tracemalloc slows code) at two row counts, so that growth with the row count shows: the batched call
at both, the one-transaction ``upsert_wanted_items`` (all items validated first, ids returned) at the
smaller one, for comparison.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

from bench.harness import Measure, alternate, peak_mb
from bench.workloads import Env, RawDb, boot, raw_rows

PER_PAGE = 200
CHUNK = 5_000  # raw side: rows handed to the driver per call (its own batching is below this)


def iter_items(n: int) -> Iterator[dict]:
    """The items of ``bench.workloads.make_items(n)``, one at a time (a million dicts would be ~1 GB)."""
    for i in range(n):
        yield {
            "item_type": "episode",
            "file_path": f"/tv/Show {i // 1000:03d}/Season 01/Show - S01E{i % 1000:03d}.mkv",
            "title": f"Show {i // 1000} - Episode {i % 1000}", "season_episode": f"S01E{i % 1000:03d}",
            "existing_sub": "srt" if i % 3 == 0 else "", "missing_languages": ["de"],
            "sonarr_series_id": i // 1000, "sonarr_episode_id": i, "target_language": "de",
            "instance_name": "main", "current_score": i % 360,
        }


def _chunks(items: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def raw_stream_upsert(raw: RawDb, n: int) -> None:
    """The raw driver's upsert of ``iter_items(n)`` in one transaction, fed chunk by chunk."""
    from bench.workloads import RAW_COLUMNS, raw_mariadb_upsert_sql, raw_upsert_sql

    if raw.storage == "sqlite":
        sql = raw_upsert_sql("(" + ", ".join("?" * len(RAW_COLUMNS)) + ")")
        raw.conn.execute("BEGIN IMMEDIATE")
        for chunk in _chunks(iter_items(n), CHUNK):
            raw.conn.executemany(sql, raw_rows(chunk))
        raw.conn.execute("COMMIT")
    elif raw.storage == "mariadb":
        with raw.conn.cursor() as cur:
            for chunk in _chunks(iter_items(n), CHUNK):
                cur.executemany(raw_mariadb_upsert_sql(), raw_rows(chunk))
        raw.conn.commit()
    else:
        from psycopg2.extras import execute_values

        with raw.conn.cursor() as cur:
            for chunk in _chunks(iter_items(n), CHUNK):
                execute_values(cur, raw_upsert_sql("%s"), raw_rows(chunk), page_size=1000)
        raw.conn.commit()


class _Shown(list):
    """The measures, each printed as it is taken: a run of 10^6 rows per engine lasts long."""

    def append(self, m: Measure) -> None:
        super().append(m)
        print(f"{m.name}: ours {m.ours_median:.4f} raw {m.raw_median or 0:.4f} {m.note}", file=sys.stderr, flush=True)


def w7(env: Env) -> list[Measure]:
    n = env.w7_rows
    results: list[Measure] = _Shown()
    for index, (storage, url) in enumerate(env.storages()):
        kernel = boot(url)
        raw = RawDb(storage, url)
        repo = kernel.repo("wanted")
        tags = {"w": "W7", "storage": storage, "n": n}
        try:
            raw.clear()
            results.append(alternate(
                Measure(f"W7 insert {n:,} ({storage})", target="≤ 1.5×", tags={**tags, "kind": "insert",
                        "series": f"W1 insert ({storage})"}, note="1 repetition, generator input, batches of 5,000"),
                lambda: repo.upsert_wanted_items_in_batches(iter_items(n)), lambda: raw_stream_upsert(raw, n), 1,
                setup=raw.clear, memory=False))
            results.append(alternate(
                Measure(f"W7 re-upsert {n:,} ({storage})", target="≤ 1.5×", tags={**tags, "kind": "re-upsert",
                        "series": f"W1 re-upsert ({storage})"}, note="1 repetition, generator input, batches of 5,000"),
                lambda: repo.upsert_wanted_items_in_batches(iter_items(n)), lambda: raw_stream_upsert(raw, n), 1,
                memory=False))
            # the table as a library scan through the kernel leaves it (raw wrote last): the driver's upkeep
            kernel.storage.after_bulk_write("wanted_items", n)
            last = max(1, -(-n // PER_PAGE))
            pages = sorted({1, max(1, last // 2), last})
            for page in pages:  # the same work: both sides return the same rows
                if repo.get_wanted_items(page=page, per_page=PER_PAGE, status="wanted") != raw.page(
                        "wanted", page, PER_PAGE):
                    raise RuntimeError(f"W7 page {page} ({storage}): ours and raw differ")
            reads = max(3, env.repeat)
            for page in pages:
                where = "first" if page == 1 else "last" if page == last else "middle"
                results.append(alternate(
                    Measure(f"W7 page {page}/{PER_PAGE} of {n:,} ({storage})", target="≤ 2×, ≤ 3× page 1",
                            unit="ms", tags={**tags, "kind": "page", "page": page, "where": where,
                                             "series": f"W2 page 1/{PER_PAGE} of ({storage})"}),
                    lambda p=page: repo.get_wanted_items(page=p, per_page=PER_PAGE, status="wanted"),
                    lambda p=page: raw.page("wanted", p, PER_PAGE), reads, memory=False))
            results.append(alternate(
                Measure(f"W7 summary of {n:,} ({storage})", target="≤ 2×", unit="ms",
                        tags={**tags, "kind": "summary", "series": f"W2 summary of ({storage})"}),
                repo.get_wanted_summary, raw.summary, reads, memory=False))
            if index == 0:
                # Peak Python allocation of one upsert at a tenth of the rows and at all of them, into an
                # empty table. The Python side is the same on every engine (the drivers differ in their
                # own buffers only), so it is measured on the first engine: tracemalloc at 10^6 rows is slow.
                small = max(1, n // 10)
                memory = Measure(f"W7 upsert peak memory {small:,} → {n:,} rows ({storage})",
                                 target="bounded by the batch", unit="MB", tags={**tags, "kind": "memory"})
                for rows in (small, n):
                    raw.clear()
                    memory.ours.append(peak_mb(lambda r=rows: repo.upsert_wanted_items_in_batches(iter_items(r))))
                    raw.clear()
                    memory.raw.append(peak_mb(lambda r=rows: raw_stream_upsert(raw, r)))
                raw.clear()
                one_transaction = peak_mb(lambda: repo.upsert_wanted_items(iter_items(small)))
                memory.ours_peak_mb, memory.raw_peak_mb = memory.ours[-1], memory.raw[-1]
                memory.tags.update(small=small, ours_mb=list(memory.ours), raw_mb=list(memory.raw),
                                   one_transaction_mb=one_transaction)
                memory.note = (f"upsert_wanted_items_in_batches {memory.ours[0]:.1f} → {memory.ours[1]:.1f} MB, "
                               f"raw streaming {memory.raw[0]:.1f} → {memory.raw[1]:.1f} MB ({small:,} → {n:,} rows); "
                               f"upsert_wanted_items (one transaction, ids returned) {one_transaction:.1f} MB "
                               f"at {small:,}, growing with the rows")
                memory.ours, memory.raw = [memory.ours[1]], [memory.raw[1]]
                results.append(memory)
            raw.clear()
        finally:
            raw.close()
            kernel.close()
    return list(results)
