"""Timing and memory measurement: alternating runs, medians, peak memory."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Measure:
    name: str
    ours: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    ours_peak_mb: float | None = None
    raw_peak_mb: float | None = None
    target: str = ""
    note: str = ""
    unit: str = "s"
    tags: dict = field(default_factory=dict)  # what the target check reads: workload, storage, size, ...

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def raw_median(self) -> float | None:
        return statistics.median(self.raw) if self.raw else None

    @property
    def ratio(self) -> float | None:
        raw = self.raw_median
        return self.ours_median / raw if raw else None


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_mb(fn: Callable[[], object]) -> float:
    """Peak Python allocation of one untimed run (tracemalloc slows code, so never during timing)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def alternate(measure: Measure, ours: Callable[[], object], raw: Callable[[], object] | None, repeat: int,
              setup: Callable[[], object] | None = None, memory: bool = True) -> Measure:
    """Run ours and raw alternately ``repeat`` times each (setup before every run)."""
    for i in range(repeat):
        order = [("ours", ours), ("raw", raw)] if i % 2 == 0 else [("raw", raw), ("ours", ours)]
        for which, fn in order:
            if fn is None:
                continue
            if setup:
                setup()
            getattr(measure, which).append(timed(fn))
    if memory:
        if setup:
            setup()
        measure.ours_peak_mb = peak_mb(ours)
        if raw is not None:
            if setup:
                setup()
            measure.raw_peak_mb = peak_mb(raw)
    return measure
