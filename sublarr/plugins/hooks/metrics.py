"""``/metrics`` of the hooks domain: script-hook and webhook deliveries by outcome.

Every delivery is a ``hook_log`` row, and that table grows without bound, so a scrape never
groups the whole of it. Counts are kept per kernel and brought up to date with the rows added
since the last scrape (a range of the primary key: the cost follows the new rows, not the
table). The newest :data:`TAIL` ids are counted again on every scrape, so a row whose
transaction committed after a higher id was already seen (concurrent writers on a server
engine) is still counted. The first scrape of a process reads the existing rows once. Rows
deleted later (``clear_hook_logs``) stay counted: these are counters, they never go down.
"""

from __future__ import annotations

import threading
import weakref
from collections import Counter

from sqlalchemy import and_, case, func, select

from sublarr.core.hookspecs import hookimpl

from .models import hook_log as logs

TAIL = 1000  # ids recounted on every scrape
KINDS = ("script", "webhook")


class DeliveryCounts:
    """Deliveries per (kind, outcome): rows up to ``frozen_id`` are settled in ``frozen``, the
    rows above it are counted again on each call."""

    def __init__(self) -> None:
        self.frozen_id = 0
        self.frozen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()  # scrapes run in several server threads

    def read(self, conn) -> Counter[tuple[str, str]]:
        with self.lock:
            newest = conn.execute(select(func.max(logs.c.id))).scalar() or 0  # the primary key's last entry
            if newest - self.frozen_id > 2 * TAIL:  # settle all but the last TAIL ids
                settle = newest - TAIL
                self.frozen.update(_count(conn, and_(logs.c.id > self.frozen_id, logs.c.id <= settle)))
                self.frozen_id = settle
            return self.frozen + _count(conn, logs.c.id > self.frozen_id)


def _count(conn, where) -> Counter[tuple[str, str]]:
    """Deliveries per (kind, outcome) among the rows ``where`` selects (a range of ids)."""
    kind = case((logs.c.hook_type.in_(KINDS), logs.c.hook_type), else_="other")
    outcome = case((logs.c.success != 0, "success"), else_="failure")
    rows = conn.execute(select(kind, outcome, func.count()).where(where).group_by(kind, outcome)).all()
    return Counter({(k, o): n for k, o, n in rows})


_counts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # kernel -> DeliveryCounts
_counts_lock = threading.Lock()


@hookimpl
def sublarr_metrics(kernel):
    from prometheus_client.core import CounterMetricFamily  # at scrape time: `sublarr status` never loads it

    with _counts_lock:
        counts = _counts.setdefault(kernel, DeliveryCounts())
    with kernel.repo("hooks").read() as conn:
        found = counts.read(conn)
    family = CounterMetricFamily("sublarr_hook_deliveries", "Script-hook and webhook deliveries by outcome",
                                 labels=["kind", "outcome"])
    for kind in dict.fromkeys([*KINDS, *sorted(k for k, _ in found)]):
        for outcome in ("success", "failure"):
            family.add_metric([kind, outcome], found.get((kind, outcome), 0))
    return [family]
