"""``sublarr run`` (the service) and ``sublarr worker`` (a queue worker process)."""

from __future__ import annotations

import logging
import signal
import threading
import time

import click

from sublarr import __version__
from sublarr.cli.api import Context, pass_context
from sublarr.core.errors import SettingsError

log = logging.getLogger("sublarr.cli")


class StopFlag:
    """Set by SIGINT/SIGTERM; long-running commands poll it."""

    def __init__(self) -> None:
        self.event = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        self.event.set()

    def __call__(self) -> bool:
        return self.event.is_set()


@click.command()
@pass_context
def run(obj: Context) -> None:
    """The service: boot, migrate, process the queue and run maintenance until SIGINT/SIGTERM;
    with http_port, serve /healthz, /readyz and /metrics; back up every backup_interval_hours."""
    from sublarr.service.backups import BackupSchedule
    from sublarr.service.health import Health, Watch

    stop = StopFlag()
    kernel = obj.boot()
    logging.getLogger().setLevel(kernel.settings.log_level)
    interval = int(kernel.settings.maintenance_interval_seconds)
    backups = BackupSchedule(kernel, stop.event)
    health = Health(kernel, notes={"backup": backups.problem} if backups.problem else None)
    loop_running = threading.Event()
    http = _http_server(kernel, health, backups, loop_running) if kernel.settings.http_port else None
    log.info("sublarr %s running: storage=%s cache=%s queue=%s", __version__, kernel.storage.name,
             kernel.cache.name, kernel.queue.name)
    click.echo(f"sublarr {__version__} running (storage {kernel.storage.name}, cache {kernel.cache.name}, "
               f"queue {kernel.queue.name}); Ctrl-C to stop", err=True)
    kernel.queue.start()
    if kernel.queue.worker_processes:
        log.info("queue %s: jobs run in `sublarr worker` processes", kernel.queue.name)
    backups.start()
    watch = Watch(health)
    loop_running.set()
    if http is not None:
        http.start()
    next_maintenance = time.monotonic()
    try:
        while not stop():
            watch.turn()
            if time.monotonic() >= next_maintenance:
                kernel.maintain()
                next_maintenance = time.monotonic() + interval
            stop.event.wait(min(1.0, max(0.0, next_maintenance - time.monotonic())))
    finally:
        loop_running.clear()
        click.echo("sublarr stopping", err=True)
        stop.event.set()  # the backup thread too
        if http is not None:
            http.close()
        backups.join()
        kernel.queue.close(wait=True)
        obj.close()
    click.echo("sublarr stopped", err=True)


def _http_server(kernel, health, backups, loop_running: threading.Event):
    """Bind the HTTP server (before anything starts: a taken port is a settings error, exit 2)."""
    from sublarr.service.http import App, HttpServer
    from sublarr.service.metrics import KernelCollector, registry_for

    registry = registry_for(KernelCollector(kernel, backups.last, backups))
    return HttpServer(App(health, registry, loop_running.is_set), kernel.settings.http_host,
                      int(kernel.settings.http_port))


@click.command()
@click.option("--burst", is_flag=True, help="process the queued jobs, then exit")
@click.option("--fork", "fork", is_flag=True, help="run each job in a forked child (RQ's classic worker)")
@pass_context
def worker(obj: Context, burst: bool, fork: bool) -> None:
    """A queue worker process with the kernel booted inside (run N of them against one Redis)."""
    kernel = obj.boot()
    logging.getLogger().setLevel(kernel.settings.log_level)
    if not kernel.queue.worker_processes:
        raise SettingsError("queue_driver", f"`sublarr worker` needs a queue driver that runs jobs in worker "
                                            f"processes (such as rq); the active one, {kernel.queue.name!r}, runs "
                                            "them inside `sublarr run`: set redis_url (SUBLARR_REDIS_URL)")
    click.echo(f"sublarr worker on queue {kernel.settings.queue_name!r}", err=True)
    kernel.queue.work(stop=lambda: False, burst=burst, worker_class="fork" if fork else "simple")
