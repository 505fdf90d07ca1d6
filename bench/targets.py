"""The issue's targets, checked against one run's measures: what was asked, what was measured, met or not."""

from __future__ import annotations

from collections.abc import Iterable

from bench.harness import Measure


def _pick(results: Iterable[Measure], **tags) -> list[Measure]:
    return [m for m in results if all(m.tags.get(k) == v for k, v in tags.items())]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _worst_ratio(measures: list[Measure]) -> tuple[float, Measure]:
    return max((m.ratio, m) for m in measures if m.ratio is not None)


def evaluate(results: list[Measure]) -> list[tuple[str, str, str, str]]:
    """Rows of (workload, target, measured, verdict) for every target this run has measures for."""
    rows: list[tuple[str, str, str, str]] = []
    storages = sorted({m.tags["storage"] for m in results if "storage" in m.tags})
    for storage in storages:
        w1 = _pick(results, w="W1", storage=storage)
        if w1:
            ratio, m = _worst_ratio(w1)
            rows.append((f"W1 ({storage})", "ours/raw ≤ 1.5× (every size)", f"worst {ratio:.2f}× ({m.name})",
                         _verdict(ratio <= 1.5)))
        w2 = _pick(results, w="W2", storage=storage)
        if w2:
            ratio, m = _worst_ratio(w2)
            rows.append((f"W2 ({storage})", "ours/raw ≤ 2× (pages and summary)", f"worst {ratio:.2f}× ({m.name})",
                         _verdict(ratio <= 2)))
            if storage == "sqlite":  # issue 18: SQLite's page 1 near raw sqlite3 at every size
                firsts = [m for m in w2 if m.tags.get("page") == 1 and m.ratio is not None]
                if firsts:
                    ratio, m = max((m.ratio, m) for m in firsts)
                    rows.append((f"W2 ({storage})", "page 1 ours/raw ≤ 1.5× (every size)",
                                 f"worst {ratio:.2f}× ({m.name})", _verdict(ratio <= 1.5)))
            largest = max(m.tags["n"] for m in w2)
            pages = sorted((m.tags["page"], m) for m in w2 if m.tags["n"] == largest and "page" in m.tags)
            first = pages[0][1] if pages and pages[0][0] == 1 else None
            for number, deep in pages[1:] if first else ():  # the last page is the issue's; the middle skips most
                growth = deep.ours_median / first.ours_median
                where = "last" if number == pages[-1][0] else "middle"
                rows.append((f"W2 ({storage})", f"page {number} ({where}) ≤ 3× page 1 ({largest:,} rows)",
                             f"{growth:.2f}× ({deep.ours_median * 1000:.1f} / {first.ours_median * 1000:.1f} ms)",
                             _verdict(growth <= 3)))
        every_w3 = _pick(results, w="W3", storage=storage)
        w3 = {m.tags["threads"]: m for m in every_w3 if "threads" in m.tags}
        w3_procs = {m.tags["processes"]: m for m in every_w3 if "processes" in m.tags}
        if every_w3:
            clean = all(m.tags["errors"] == 0 and m.tags["exact"] for m in every_w3)
            rows.append((f"W3 ({storage})", "zero errors, exact counters",
                         "; ".join([f"{t} thread(s): {m.note}" for t, m in sorted(w3.items())]
                                   + [f"{n} processes: {m.note}" for n, m in sorted(w3_procs.items())]),
                         _verdict(clean)))
            if storage == "sqlite" and 1 in w3 and w3[1].raw:
                slower = w3[1].raw_median / w3[1].ours_median  # rates: raw's rate / ours = ours' time / raw's
                rows.append((f"W3 ({storage})", "1 thread: ours/raw sqlite3 ≤ 2× (time per call)",
                             f"{slower:.2f}× ({w3[1].ours_median:,.0f} / {w3[1].raw_median:,.0f} calls/s)",
                             _verdict(slower <= 2)))
            if storage == "postgresql" and 1 in w3 and 4 in w3:
                scale = w3[4].ours_median / w3[1].ours_median
                raw = (w3[4].raw_median / w3[1].raw_median) if w3[1].raw_median and w3[4].raw_median else None
                raw_text = f" (raw psycopg2 on the same machine: {raw:.3f}×)" if raw else ""
                rows.append((f"W3 ({storage})", "4-thread rate ≥ 1.5× 1-thread rate",
                             f"{scale:.3f}×{raw_text}", _verdict(scale >= 1.5)))
    rows += _w7(results)
    for m in _pick(results, w="W4", driver="memory"):
        rows.append(("W4 memory", "≥ 200,000 ops/s", f"{m.ours_median:,.0f} ops/s", _verdict(m.ours_median >= 200_000)))
    for m in _pick(results, w="W4", driver="redis"):
        rows.append(("W4 Redis", "ours/raw redis-py ≤ 1.2×", f"{m.ratio:.2f}×", _verdict(m.ratio <= 1.2)))
    for m in sorted(_pick(results, w="W5", driver="memory"), key=lambda m: (m.tags["retention"], m.tags["n"])):
        retention, n = m.tags["retention"], m.tags["n"]
        # the issue sets the target at 10k and 100k jobs; a run of a few hundred jobs lasts tens of ms, which
        # the 1 ms poll and thread wake-ups on a loaded 2-core machine swing by 2-3×: shown, not judged
        verdict = _verdict(m.ratio <= 2) if n >= 5_000 else "indicative (< 5,000 jobs)"
        rows.append(("W5 memory queue", f"enqueue+drain ours/raw ThreadPoolExecutor(2) ≤ 2× ({n:,} jobs, "
                     f"retention {retention:,} s)", f"{m.ratio:.2f}×", verdict))
        # bounded by retention: nothing kept at 0; otherwise exactly the jobs finished within it, none more
        kept = 0 if retention == 0 else n
        rows.append(("W5 memory queue", f"finished jobs kept = those within the retention ({n:,} jobs, "
                     f"retention {retention:,} s)", f"{m.tags['held_tracked']:,} tracked, {m.tags['held_mb']:.1f} MB "
                     f"held after the first run; {m.tags['tracked']:,} tracked after {m.tags['runs']} runs",
                     _verdict(m.tags["held_tracked"] == kept and m.tags["tracked"] == kept * m.tags["runs"])))
    for m in _pick(results, w="W5", driver="rq"):
        rows.append(("W5 RQ", "enqueue ours/raw RQ ≤ 1.3×", f"{m.ratio:.2f}×", _verdict(m.ratio <= 1.3)))
    for m in _pick(results, w="W6", what="status"):
        floor = _pick(results, w="W6", what="floor")
        floor_text = f"; importing the dependencies alone: {floor[0].ours_median:.2f} s" if floor else ""
        rows.append(("W6 `sublarr status`", "≤ 0.5 s wall", f"{m.ours_median:.2f} s{floor_text}",
                     _verdict(m.ours_median <= 0.5)))
        rows.append(("W6 `sublarr status`", "≤ 80 MB RSS", f"{m.ours_peak_mb:.0f} MB",
                     _verdict(m.ours_peak_mb is not None and m.ours_peak_mb <= 80)))
    for m in _pick(results, w="W6", what="own"):  # issue 18: the part that is ours to cut
        rows.append(("W6 kernel's own cost", "status − floor ≤ 0.1 s (median of the rounds' differences)",
                     f"{m.ours_median:.3f} s (CPU {m.tags['cpu']:.3f} s); {m.ours_peak_mb:.0f} MB RSS over the floor's",
                     _verdict(m.ours_median <= 0.1)))
    return rows


def _w7(results: list[Measure]) -> list[tuple[str, str, str, str]]:
    """W7 (bench/w7.py): a million rows per engine."""
    rows = []
    for storage in sorted({m.tags["storage"] for m in _pick(results, w="W7")}):
        w7 = _pick(results, w="W7", storage=storage)
        for m in (m for m in w7 if m.tags["kind"] in ("insert", "re-upsert")):
            rows.append((f"W7 ({storage})", f"{m.tags['kind']} {m.tags['n']:,} ours/raw ≤ 1.5×", f"{m.ratio:.2f}×",
                         _verdict(m.ratio <= 1.5)))
        pages = {m.tags["where"]: m for m in w7 if m.tags["kind"] == "page"}
        for where, m in pages.items():
            growth = m.ours_median / pages["first"].ours_median
            rows.append((f"W7 ({storage})", f"page {m.tags['page']:,} ({where}) ≤ 2× raw, ≤ 3× page 1",
                         f"{m.ratio:.2f}× raw, {growth:.2f}× page 1 ({m.ours_median * 1000:.1f} ms)",
                         _verdict(m.ratio <= 2 and growth <= 3)))
        for m in (m for m in w7 if m.tags["kind"] == "summary"):
            rows.append((f"W7 ({storage})", "get_wanted_summary ours/raw ≤ 2×", f"{m.ratio:.2f}×",
                         _verdict(m.ratio <= 2)))
        for m in (m for m in w7 if m.tags["kind"] == "memory"):
            (small_mb, big_mb), (raw_small, raw_big) = m.tags["ours_mb"], m.tags["raw_mb"]
            # 10× the rows: a batch-bounded upsert stays within 2× (allocator noise), a materialising one grows ~10×
            rows.append((f"W7 ({storage})", f"upsert peak memory bounded by the batch ({m.tags['small']:,} → "
                         f"{m.tags['n']:,} rows)", f"in batches {small_mb:.1f} → {big_mb:.1f} MB ({big_mb / small_mb:.1f}×); "
                         f"raw streaming {raw_small:.1f} → {raw_big:.1f} MB", _verdict(big_mb <= 2 * small_mb)))
    return rows
