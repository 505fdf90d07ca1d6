"""``GET /metrics``: one ``prometheus_client`` collector, computed at scrape time.

The kernel's own metrics come from the drivers (build info, jobs, the connection pool, the cache's
counters) and the backup folder; every domain adds its own through the ``sublarr_metrics`` hook,
called like every hook (a plugin that raises is logged and left out of this scrape). A section
whose driver is unreachable (Redis down: no job counts) is left out of the scrape; ``/readyz``
and the log say why. Labels carry names and states, never a URL, a path or a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric

from sublarr import __version__

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel
    from sublarr.service.backups import BackupSchedule, LastBackup

log = logging.getLogger("sublarr.metrics")

JOB_STATES = ("queued", "running", "failed")


class KernelCollector:
    """The collector registered for ``/metrics`` (``collect()`` runs on every scrape)."""

    def __init__(self, kernel: Kernel, last_backup: LastBackup, schedule: BackupSchedule | None = None):
        self.kernel = kernel
        self.last_backup = last_backup
        self.schedule = schedule

    def collect(self) -> Iterator[Metric]:
        for section in (self._build, self._jobs, self._pool, self._cache, self._backups, self._domains):
            try:
                yield from section()
            except Exception as exc:  # one section down (e.g. Redis for the job counts) keeps the others
                log.debug("metrics: %s left out: %s", section.__name__.lstrip("_"), exc)

    def _build(self) -> Iterator[Metric]:
        k = self.kernel
        info = InfoMetricFamily("sublarr_build", "Version and drivers of this sublarr")
        info.add_metric([], {"version": __version__, "storage": k.storage.name, "cache": k.cache.name,
                             "queue": k.queue.name})
        yield info

    def _jobs(self) -> Iterator[Metric]:
        counts = self.kernel.queue.job_counts()
        jobs = GaugeMetricFamily("sublarr_jobs", "Jobs by status now (failed: still retained)", labels=["status"])
        for state in JOB_STATES:
            jobs.add_metric([state], counts.get(state, 0))
        yield jobs
        finished = self.kernel.queue.finished_counts()
        if finished:
            total = CounterMetricFamily("sublarr_jobs_finished", "Jobs finished by outcome since the service "
                                        "started (RQ: since the queue's counters in Redis began)",
                                        labels=["outcome"])
            for outcome in ("completed", "failed"):
                total.add_metric([outcome], finished.get(outcome, 0))
            yield total

    def _pool(self) -> Iterator[Metric]:
        storage = self.kernel.storage
        if storage.features.file_based:
            return  # one local file: no connection pool worth watching
        status = storage.pool_status()
        for key, name, text in (("pool_size", "sublarr_db_pool_size", "Connections the pool keeps"),
                                ("checked_out", "sublarr_db_pool_in_use", "Pooled connections in use"),
                                ("overflow", "sublarr_db_pool_overflow", "Connections open beyond the pool size")):
            if key in status:
                yield GaugeMetricFamily(name, text, value=status[key])

    def _cache(self) -> Iterator[Metric]:
        cache = self.kernel.cache  # the process's own counters: no round trip to the backend
        yield CounterMetricFamily("sublarr_cache_hits", "Cache hits in this process", value=cache.hits)
        yield CounterMetricFamily("sublarr_cache_misses", "Cache misses in this process", value=cache.misses)
        yield GaugeMetricFamily("sublarr_cache_healthy", "1 while the cache backend answers",
                                value=1 if cache.healthy else 0)

    def _backups(self) -> Iterator[Metric]:
        last = self.last_backup.time()
        if last is not None:
            yield GaugeMetricFamily("sublarr_last_backup_timestamp_seconds",
                                    "When the newest complete backup in backup_dir was made (Unix time)", value=last)
        if self.schedule is not None and self.schedule.enabled:
            runs = CounterMetricFamily("sublarr_scheduled_backups", "Scheduled backups since start by outcome",
                                       labels=["outcome"])
            for outcome in ("success", "failure"):
                runs.add_metric([outcome], self.schedule.outcomes[outcome])
            yield runs

    def _domains(self) -> Iterator[Metric]:
        for families in self.kernel.plugins.hook.sublarr_metrics(kernel=self.kernel):
            yield from families or ()


def registry_for(collector: KernelCollector) -> CollectorRegistry:
    """A registry of our own (not the global one: no process or GC metrics of prometheus_client's
    defaults unless asked, and two kernels in one process never share it)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
