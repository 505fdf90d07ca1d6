"""Readiness: storage answers, the schema is at head, the cache works, the queue accepts jobs.

A cache that fails open (Redis down: every read is a miss) makes the service *degraded*: it
still works, slower. A queue that fails closed (it refuses jobs rather than drop them), an
unreachable database or a schema behind head make it *failing* (``/readyz`` answers 503).
``/readyz``, ``sublarr status`` and the log lines of :class:`Watch` read the same checks.
Reasons are one line with secrets masked (the drivers' ``health()`` already mask URLs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sublarr.core.secrets import scrub

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.health")

OK, DEGRADED, FAILING = "ok", "degraded", "failing"
# what an unhealthy driver of each kind means for the service
_WHEN_UNHEALTHY = {"storage": FAILING, "cache": DEGRADED, "queue": FAILING}


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub(f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)


@dataclass
class Readiness:
    failing: dict[str, str] = field(default_factory=dict)   # component -> why (503)
    degraded: dict[str, str] = field(default_factory=dict)  # component -> why (still 200)
    notes: dict[str, str] = field(default_factory=dict)     # worth knowing, not a failure

    @property
    def status(self) -> str:
        return FAILING if self.failing else DEGRADED if self.degraded else OK

    @property
    def http_status(self) -> int:
        return 503 if self.failing else 200

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        for key in ("failing", "degraded", "notes"):
            if getattr(self, key):
                data[key] = dict(getattr(self, key))
        return data


def describe(readiness: dict[str, Any]) -> str:
    """One line from :meth:`Readiness.as_dict`: ``ok``, ``degraded; cache: why``, ``failing; queue: why;
    degraded; cache: why``, notes last (``sublarr status``)."""
    parts = [readiness["status"]]
    for kind in (FAILING, DEGRADED):
        parts += [f"{component} {kind}: {why}" for component, why in readiness.get(kind, {}).items()]
    parts += [f"note: {why}" for why in readiness.get("notes", {}).values()]
    return "; ".join(parts)


class Health:
    """The checks, on one kernel. ``notes`` are added to every answer (e.g. backups impossible)."""

    def __init__(self, kernel: Kernel, notes: dict[str, str] | None = None):
        self.kernel = kernel
        self.notes = dict(notes or {})

    def drivers(self) -> dict[str, str | None]:
        """component -> None when it works, else why not: storage, cache, queue (cheap: one round trip each)."""
        found: dict[str, str | None] = {}
        try:
            self.kernel.storage.check()
            found["storage"] = None
        except Exception as exc:
            found["storage"] = f"the database does not answer: {_one_line(exc)}"
        for kind in ("cache", "queue"):
            driver = getattr(self.kernel, kind)
            try:
                problem = driver.health()
            except Exception as exc:  # a third-party driver's check that raises is a failed check
                problem = _one_line(exc)
            found[kind] = scrub(problem) if problem else None
        return found

    def check(self) -> Readiness:
        """Every component, the schema included (``/readyz``, ``sublarr status``)."""
        result = Readiness(notes=dict(self.notes))
        problems = self.drivers()
        for component, problem in problems.items():
            if problem:
                target = result.failing if _WHEN_UNHEALTHY[component] == FAILING else result.degraded
                target[component] = problem
        if problems["storage"] is None:
            try:
                behind = self.kernel.migrator.pending()
            except Exception as exc:
                result.failing["schema"] = f"cannot read the schema revisions: {_one_line(exc)}"
            else:
                if behind:
                    result.failing["schema"] = "behind head (run `sublarr db upgrade`): " + ", ".join(
                        f"{r.domain} at {r.current or 'nothing'}, head {r.head}" for r in behind)
        return result


class Watch:
    """Logs one warning when a driver becomes unhealthy and one line when it recovers.

    ``turn()`` runs once per loop turn of ``sublarr run``: one round trip per driver.
    """

    def __init__(self, health: Health):
        self.health = health
        self.problems: dict[str, str | None] = {}

    def turn(self) -> dict[str, str | None]:
        found = self.health.drivers()
        for component, problem in found.items():
            before = self.problems.get(component)
            if problem and not before:
                log.warning("%s %s: %s", component, _WHEN_UNHEALTHY[component], problem)
            elif before and not problem:
                log.warning("%s recovered: it works again", component)
        self.problems = found
        return found
