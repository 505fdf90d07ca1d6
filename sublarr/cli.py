"""The ``sublarr`` command.

Errors are one line on stderr: exit status 2 for bad usage or settings, 1 for failures.
Plugins add sub-commands through the ``sublarr_cli`` hook.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import click

from sublarr import __version__
from sublarr.cli_data import register as register_data_commands
from sublarr.core.errors import SettingsError, SublarrError
from sublarr.core.secrets import scrub

log = logging.getLogger("sublarr.cli")


# -- shared plumbing ------------------------------------------------------------------------------

class Context:
    def __init__(self, settings_files: tuple[str, ...]):
        self.settings_files = list(settings_files) or None
        self._kernel = None

    def boot(self, **overrides: Any):
        from sublarr import Kernel

        self._kernel = Kernel.boot(settings_files=self.settings_files, **overrides)
        return self._kernel

    def configure(self):
        from sublarr import Kernel

        return Kernel.configure(settings_files=self.settings_files)

    def close(self) -> None:
        if self._kernel is not None:
            self._kernel.close()


pass_context = click.make_pass_decorator(Context)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def table(rows: list[list[Any]], headers: list[str] | None = None) -> str:
    data = [[("" if c is None else str(c)) for c in row] for row in rows]
    if headers:
        data.insert(0, headers)
    if not data:
        return ""
    widths = [max(len(r[i]) for r in data) for i in range(len(data[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in data]
    if headers:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def setup_logging(level: str = "WARNING") -> None:
    logging.basicConfig(level=getattr(logging, level, logging.WARNING), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)


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


# -- the group ------------------------------------------------------------------------------------

class SublarrGroup(click.Group):
    """Adds plugin commands lazily, so that `sublarr --help` lists them too."""

    _plugins_added = False

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        try:
            from sublarr import Kernel

            files = (ctx.params or {}).get("settings_files") or None
            Kernel.configure(settings_files=list(files) if files else None).plugins.hook.sublarr_cli(cli=self)
        except SublarrError:
            pass  # a bad setting is reported by the command that needs it

    def list_commands(self, ctx):
        self._add_plugin_commands(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None:
            self._add_plugin_commands(ctx)
            command = super().get_command(ctx, name)
        return command


@click.group(cls=SublarrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--settings", "settings_files", multiple=True, metavar="FILE",
              help="settings file(s) to read instead of settings.toml + .secrets.toml (repeatable)")
@click.version_option(__version__, prog_name="sublarr")
@click.pass_context
def cli(ctx: click.Context, settings_files: tuple[str, ...]) -> None:
    """Sublarr's data core: storage, cache, queue, migrations and plugins."""
    ctx.obj = Context(settings_files)
    ctx.call_on_close(ctx.obj.close)


# -- status ---------------------------------------------------------------------------------------

def status_data(kernel) -> dict[str, Any]:
    revisions = kernel.migrator.status()
    return {
        "version": __version__,
        "storage": kernel.storage.describe(),
        "cache": {"driver": kernel.cache.name, **kernel.cache.stats()},
        "queue": {"driver": kernel.queue.name, **kernel.queue.info()},
        "schema": [{"domain": r.domain, "revision": r.current, "head": r.head, "up_to_date": r.up_to_date}
                   for r in revisions],
        "plugins": [i.as_dict() for i in kernel.plugins.info.values()],
        "rows": kernel.row_counts(),
    }


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def status(obj: Context, as_json: bool) -> None:
    """Boot on the configured setup; show drivers, plugins, schema revisions and row counts."""
    kernel = obj.boot()
    data = status_data(kernel)
    if as_json:
        echo_json(data)
        return
    storage = dict(data["storage"])
    click.echo(f"sublarr {__version__}")
    click.echo(f"storage   {storage.pop('driver')}  " + ", ".join(f"{k}={v}" for k, v in storage.items()))
    cache = dict(data["cache"])
    click.echo(f"cache     {cache.pop('driver')}  " + ", ".join(f"{k}={v}" for k, v in cache.items()
                                                             if k != "backend"))
    queue = dict(data["queue"])
    click.echo(f"queue     {queue.pop('driver')}  " + ", ".join(f"{k}={v}" for k, v in queue.items()
                                                             if k != "backend"))
    behind = [s for s in data["schema"] if not s["up_to_date"]]
    click.echo(f"schema    {len(data['schema'])} domains, "
               + ("all at head" if not behind else f"{len(behind)} behind (run `sublarr db upgrade`)"))
    click.echo(table([[s["domain"], s["revision"] or "-", "" if s["up_to_date"] else f"head {s['head']}"]
                      for s in data["schema"]]).replace("\n", "\n  ").join(["  ", ""]))
    loaded = [p for p in data["plugins"] if p["status"] == "loaded"]
    click.echo(f"plugins   {len(loaded)} loaded" + (f", {len(data['plugins']) - len(loaded)} not loaded"
                                                   if len(loaded) != len(data["plugins"]) else ""))
    click.echo(table([[p["name"], p["version"], p["source"], p["status"],
                       p["reason"] or ", ".join(h.removeprefix("sublarr_") for h in p["hooks"])]
                      for p in data["plugins"]]).replace("\n", "\n  ").join(["  ", ""]))
    click.echo(f"rows      {sum(v for v in data['rows'].values() if v > 0)} in {len(data['rows'])} tables")
    click.echo(table([[t, n] for t, n in sorted(data["rows"].items())]).replace("\n", "\n  ").join(["  ", ""]))


# -- config, plugins, events ----------------------------------------------------------------------

@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def config(obj: Context, as_json: bool) -> None:
    """The resolved settings with the source of each value; secrets masked."""
    kernel = obj.configure()
    rows = kernel.settings.display()
    if as_json:
        echo_json({name: {"value": value, "source": source} for name, value, source in rows})
        return
    click.echo(f"settings files: {', '.join(kernel.settings_files) or '(none)'}")
    click.echo(table([[n, json.dumps(v) if not isinstance(v, str) else v, s] for n, v, s in rows],
                     ["setting", "value", "source"]))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def plugins(obj: Context, as_json: bool) -> None:
    """Plugins: name, version, source, status, hooks, tables and migration head."""
    kernel = obj.configure()
    infos = list(kernel.plugins.info.values())
    _add_plugin_schema(kernel, infos)
    if as_json:
        echo_json([i.as_dict() for i in infos])
        return
    click.echo(table([[i.name, i.version, i.source, i.status + (f": {i.reason}" if i.reason else ""),
                       ", ".join(h.removeprefix("sublarr_") for h in i.hooks), ", ".join(i.tables),
                       i.migration_head or ""] for i in infos],
                     ["plugin", "version", "source", "status", "hooks", "tables", "head"]))


def _add_plugin_schema(kernel, infos) -> None:
    """Fill tables and migration heads from the domains each plugin registers (no database needed)."""
    from sublarr.core.migrate import Migrator

    for info in infos:
        if info.status != "loaded":
            continue
        impl = next((i for i in kernel.plugins.hook.sublarr_domains.get_hookimpls()
                     if i.plugin_name == info.name), None)
        if impl is None:
            continue
        for domain in impl.function() or []:
            info.tables = sorted({*info.tables, *(t.name for t in domain.tables)})
            if domain.migrations:
                info.migration_head = Migrator(None, [domain]).heads()[domain.name]


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def events(obj: Context, as_json: bool) -> None:
    """The event catalog: names, labels, payload keys."""
    from sublarr.core.kernel import Kernel

    kernel = obj.configure()
    catalog = Kernel._collect_events(kernel)
    if as_json:
        echo_json([e.as_dict() for e in catalog.values()])
        return
    click.echo(table([[e.name, e.label, ", ".join(e.payload_keys), e.plugin] for e in catalog.values()],
                     ["event", "label", "payload keys", "plugin"]))


# -- run and worker -------------------------------------------------------------------------------

@cli.command()
@pass_context
def run(obj: Context) -> None:
    """The service: boot, migrate, process the queue and run maintenance until SIGINT/SIGTERM."""
    stop = StopFlag()
    kernel = obj.boot()
    logging.getLogger().setLevel(kernel.settings.log_level)
    interval = int(kernel.settings.maintenance_interval_seconds)
    log.info("sublarr %s running: storage=%s cache=%s queue=%s", __version__, kernel.storage.name,
             kernel.cache.name, kernel.queue.name)
    click.echo(f"sublarr {__version__} running (storage {kernel.storage.name}, cache {kernel.cache.name}, "
               f"queue {kernel.queue.name}); Ctrl-C to stop", err=True)
    kernel.queue.start()
    if kernel.queue.name == "rq":
        log.info("queue is RQ: jobs run in `sublarr worker` processes")
    next_maintenance = time.monotonic()
    while not stop():
        if time.monotonic() >= next_maintenance:
            run_maintenance(kernel)
            next_maintenance = time.monotonic() + interval
        stop.event.wait(min(1.0, max(0.0, next_maintenance - time.monotonic())))
    click.echo("sublarr stopping", err=True)
    kernel.queue.close(wait=True)
    obj.close()
    click.echo("sublarr stopped", err=True)


def run_maintenance(kernel) -> None:
    for impl in kernel.plugins.hook.sublarr_maintenance.get_hookimpls():
        try:
            impl.function(**({"kernel": kernel} if "kernel" in impl.argnames else {}))
        except Exception:  # one failing task must not stop the service
            log.exception("maintenance of plugin %s failed", impl.plugin_name)


@cli.command()
@click.option("--burst", is_flag=True, help="process the queued jobs, then exit")
@click.option("--fork", "fork", is_flag=True, help="run each job in a forked child (RQ's classic worker)")
@pass_context
def worker(obj: Context, burst: bool, fork: bool) -> None:
    """An RQ worker with the kernel booted inside (run N of them against one Redis)."""
    kernel = obj.boot()
    logging.getLogger().setLevel(kernel.settings.log_level)
    if kernel.queue.name != "rq":
        raise SettingsError("queue_driver", f"`sublarr worker` needs the rq queue driver, the active one is "
                                            f"{kernel.queue.name!r}: set redis_url (SUBLARR_REDIS_URL)")
    click.echo(f"sublarr worker on queue {kernel.settings.queue_name!r}", err=True)
    kernel.queue.work(stop=lambda: False, burst=burst, worker_class="fork" if fork else "simple")


# -- db ---------------------------------------------------------------------------------------------

@cli.group()
def db() -> None:
    """Schema and data operations on the configured database."""


def _boot_unmigrated(obj: Context):
    return obj.boot(auto_migrate=False)


def _split_target(target: str) -> tuple[str | None, str]:
    if ":" in target:
        domain, revision = target.split(":", 1)
        return domain, revision
    return None, target


@db.command()
@click.argument("target", required=False, default="head")
@pass_context
def upgrade(obj: Context, target: str) -> None:
    """Apply migrations: every domain to head, or DOMAIN[:REVISION]."""
    kernel = _boot_unmigrated(obj)
    domain, revision = _split_target(target) if target != "head" else (None, "head")
    if domain is None and revision != "head" and revision in kernel.migrator.scripts:
        domain, revision = revision, "head"
    changed = kernel.migrator.upgrade(domain=domain, revision=revision)
    for rev in changed:
        click.echo(f"{rev.domain}: {rev.current or 'empty'} -> {rev.head}")
    click.echo("database is up to date" if not changed else f"upgraded {len(changed)} domain(s)")


@db.command()
@click.argument("target")
@pass_context
def downgrade(obj: Context, target: str) -> None:
    """Revert migrations: DOMAIN:REVISION (e.g. wanted:wanted_0001, wanted:-1, wanted:base), or `base` for all."""
    kernel = _boot_unmigrated(obj)
    domain, revision = _split_target(target)
    if domain is None and revision != "base":
        raise click.UsageError("give DOMAIN:REVISION (e.g. wanted:-1) or `base`")
    changed = kernel.migrator.downgrade(revision, domain=domain)
    for rev in changed:
        click.echo(f"{rev.domain}: {rev.current or 'empty'} -> {rev.head or 'empty'}")
    click.echo(f"downgraded {len(changed)} domain(s)")


@db.command()
@click.option("--json", "as_json", is_flag=True)
@pass_context
def current(obj: Context, as_json: bool) -> None:
    """The revision of each domain in the database."""
    kernel = _boot_unmigrated(obj)
    revisions = kernel.migrator.status()
    if as_json:
        echo_json([{"domain": r.domain, "revision": r.current, "head": r.head} for r in revisions])
        return
    click.echo(table([[r.domain, r.current or "(empty)", r.head, "head" if r.up_to_date else "behind"]
                      for r in revisions], ["domain", "revision", "code head", "state"]))


@db.command()
@click.argument("domain", required=False)
@pass_context
def history(obj: Context, domain: str | None) -> None:
    """The migration history of each domain (or one), newest first."""
    from sublarr.core.migrate import Migrator

    kernel = obj.configure()
    migrator = Migrator(None, _domains_of(kernel), kernel.settings)
    names = [domain] if domain else [d.name for d in migrator.domains]
    for name in names:
        click.echo(f"{name}:")
        for script in migrator.history(name):
            click.echo(f"  {script.down_revision or '<base>'} -> {script.revision}"
                       f"{' (head)' if script.is_head else ''}  {script.doc or ''}".rstrip())


def _domains_of(kernel):
    from sublarr.core.kernel import Kernel

    return list(Kernel._collect_domains(kernel).values())


@db.command()
@pass_context
def check(obj: Context) -> None:
    """Exit 1 when the database is behind the code (or ahead of it)."""
    kernel = _boot_unmigrated(obj)
    behind = kernel.migrator.pending()
    if behind:
        for rev in behind:
            click.echo(f"{rev.domain}: database at {rev.current or '(empty)'}, code head {rev.head}", err=True)
        raise SublarrError(f"{len(behind)} domain(s) not at head: run `sublarr db upgrade`")
    click.echo("database is at head")


# adopt, copy, backup, restore
register_data_commands(db)


# -- entry point ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    debug = os.environ.get("SUBLARR_DEBUG", "").lower() in ("1", "true", "yes")
    setup_logging()
    try:
        cli.main(args=argv, prog_name="sublarr", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("sublarr: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SettingsError as exc:
        _fail(exc, 2, debug)
    except SublarrError as exc:
        _fail(exc, 1, debug)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        _fail(exc, 1, debug, prefix=f"{type(exc).__name__}: ")


def _fail(exc: BaseException, status: int, debug: bool, prefix: str = "") -> None:
    if debug:
        import traceback

        sys.stderr.write(scrub(traceback.format_exc()))
    message = scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    click.echo(f"sublarr: error: {prefix}{message}", err=True)
    sys.exit(status)


def command(func: Callable) -> Callable:
    """Decorator re-exported for plugins: ``@sublarr.cli.command`` == ``@click.command``."""
    return click.command()(func)


if __name__ == "__main__":
    main()
