"""The ``sublarr`` command: one module per command group, all built on :mod:`sublarr.cli.api`.

    status.py   status                          catalog.py  config, plugins, events
    service.py  run, worker                     db.py       db upgrade/downgrade/current/history/check
    data.py     db adopt/copy/backup/restore    api.py      Context, echo_json, table (for plugins too)
    jobs.py     jobs list/show/retry/cancel/clear-failed
    logs.py     stderr and the log_file handler

Errors are one line on stderr: exit status 2 for bad usage or settings, 1 for failures.
Plugins add sub-commands through the ``sublarr_cli`` hook.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

import click

from sublarr import __version__
from sublarr.cli.api import Context
from sublarr.cli.logs import log_to_file, setup_logging
from sublarr.core.errors import SettingsError, SublarrError
from sublarr.core.secrets import first_line, scrub

_CONFIGURATION = "sublarr.configuration"  # ctx.meta key: the configuration loaded to add plugin commands

# The built-in commands, imported when first asked for: `sublarr status` then loads neither the
# backup/copy machinery of `db` nor the service of `run` (`sublarr --help` lists, and so imports, them all).
_BUILTIN_COMMANDS = {
    "status": "sublarr.cli.status:status", "config": "sublarr.cli.catalog:config",
    "plugins": "sublarr.cli.catalog:plugins", "events": "sublarr.cli.catalog:events",
    "run": "sublarr.cli.service:run", "worker": "sublarr.cli.service:worker",
    "db": "sublarr.cli.db:db", "jobs": "sublarr.cli.jobs:jobs",
}


class SublarrGroup(click.Group):
    """Loads the configuration once, before any command runs, and lets the plugins add their
    commands (``sublarr_cli``), so that every command, `sublarr --help` included, lists them and a
    plugin failing there is reported (and left out) whatever the command."""

    _plugins_added = False

    def _add_plugin_commands(self, ctx: click.Context) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        from sublarr.core.configuration import Configuration

        files = (ctx.params or {}).get("settings_files") or ()
        try:
            configuration = Configuration(settings_files=list(files) or None)
        except SublarrError:
            return  # a bad setting is reported by the command that needs it
        ctx.meta[_CONFIGURATION] = configuration
        configuration.plugins.hook.sublarr_cli(cli=self)

    def list_commands(self, ctx):
        self._add_plugin_commands(ctx)
        return sorted(set(super().list_commands(ctx)) | _BUILTIN_COMMANDS.keys())

    def get_command(self, ctx, name):
        self._add_plugin_commands(ctx)
        command = super().get_command(ctx, name)  # a plugin's command of the same name wins, as before
        if command is None and name in _BUILTIN_COMMANDS:
            module, attr = _BUILTIN_COMMANDS[name].split(":")
            command = getattr(importlib.import_module(module), attr)
            self.add_command(command)
        return command


@click.group(cls=SublarrGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--settings", "settings_files", multiple=True, metavar="FILE",
              help="settings file(s) to read instead of settings.toml + .secrets.toml (repeatable)")
@click.version_option(__version__, prog_name="sublarr")
@click.pass_context
def cli(ctx: click.Context, settings_files: tuple[str, ...]) -> None:
    """Sublarr's data core: storage, cache, queue, migrations and plugins."""
    configuration = ctx.meta.get(_CONFIGURATION)  # None: bad settings, which the command reports (exit 2)
    log_to_file(configuration.settings if configuration is not None else None)
    ctx.obj = Context(settings_files, configuration)
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None) -> None:
    """The ``sublarr`` command; ``argv`` None reads the process's arguments (the console script,
    ``python -m sublarr.cli``), a list runs one command in this process (tests, embedding)."""
    try:
        _main(argv)
    finally:
        if argv is None:
            # The process ends with the command: everything is closed and flushed by now (the kernel by the
            # context, log handlers at exit). Freezing the objects spares the interpreter's last garbage
            # collections, which walk every object of every imported module only to find nothing to free
            # (~60 ms of each `sublarr` process with SQLAlchemy and dynaconf loaded). Objects are still
            # finalised by reference counting; only garbage caught in reference cycles is left to the OS,
            # which Python does not promise to finalise at exit either.
            gc.freeze()


def _main(argv: list[str] | None) -> None:
    debug = os.environ.get("SUBLARR_DEBUG", "").lower() in ("1", "true", "yes")
    setup_logging()
    try:
        cli.main(args=argv, prog_name="sublarr", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("sublarr: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # one line like every other error (click's own form is three: Usage / Try / Error)
        where = exc.ctx.command_path if exc.ctx is not None else "sublarr"
        message = " ".join(exc.format_message().split())
        click.echo(f"sublarr: error: {message} (see `{where} --help`)", err=True)
        sys.exit(exc.exit_code)
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
    click.echo(f"sublarr: error: {prefix}{first_line(exc)}", err=True)
    sys.exit(status)
