"""``sublarr db adopt | copy | backup | restore``: moving data in, across and back.

``register(db_group)`` adds the four commands to the ``sublarr db`` group (:mod:`sublarr.cli.db`).
They follow the CLI's conventions: the kernel comes from the group's ``Context`` (``--settings``), the
results go to stdout, progress to stderr, and failures are one line on stderr through
``SublarrError`` (exit 1) or ``SettingsError``/``click.UsageError`` (exit 2). Progress bars (click's)
are drawn only when stderr is a terminal and ``--json`` is not given: a pipe or a log gets nothing extra.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from sublarr.cli.api import Context, echo_json, pass_context, table
from sublarr.core.errors import SettingsError
from sublarr.core.secrets import mask_url
from sublarr.core.transfer import DEFAULT_BATCH_SIZE, Progress


@click.command("adopt")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def adopt_command(obj: Context, path: Path, as_json: bool) -> None:
    """Adopt a legacy Sublarr SQLite database at PATH: copy it beside itself, bring it to the
    baseline schema, normalise it and upgrade it to head, in place and crash-safe."""
    from sublarr.core.adopt import STEPS, adopt

    if not path.is_file():
        raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
    kernel = obj.boot(database_url=f"sqlite:///{path.resolve()}", auto_migrate=False, create="never")

    def step(name: str) -> None:
        if not as_json:
            click.echo(f"  [{STEPS.index(name) + 1}/{len(STEPS)}] {name}", err=True)

    report = adopt(kernel, on_step=step, progress=_progress(as_json))
    if as_json:
        echo_json(report.as_dict())
        return
    for line in report.lines():
        click.echo(line)


@click.command("copy")
@click.option("--to", "to_url", required=True, metavar="URL", help="the target database URL")
@click.option("--from", "from_url", metavar="URL", help="the source database URL (default: the configured one)")
@click.option("--force", is_flag=True, help="replace the contents of a target that is not empty")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="rows per read and per insert")
@click.option("--json", "as_json", is_flag=True, help="machine-readable summary")
@pass_context
def copy_command(obj: Context, to_url: str, from_url: str | None, force: bool, batch_size: int,
                 as_json: bool) -> None:
    """Copy every table of every loaded plugin to another database (e.g. SQLite to PostgreSQL).

    The target is migrated to the same schema first, filled in one transaction, its sequences
    are set past the copied ids, and row counts and checksums are verified table by table.
    The source is never modified.
    """
    from sublarr.core.transfer import copy_database

    source = obj.boot(auto_migrate=False, create="never", **({"database_url": from_url} if from_url else {}))
    target = _boot_other(obj, to_url, "--to")
    try:
        report = copy_database(source, target, force=force, batch_size=batch_size,
                               progress=_progress(as_json))
    finally:
        target.close()
    if as_json:
        echo_json(report.as_dict())
        return
    click.echo(f"copied {report.rows} rows in {len(report.tables)} tables from {report.source} to "
               f"{report.target} in {report.seconds:.1f}s")
    click.echo(table([[t.name, t.rows, f"{t.seconds:.2f}s", t.sha256[:16]] for t in report.tables],
                     ["table", "rows", "time", "sha256"]))
    if report.emptied:
        click.echo(f"emptied first (--force): {sum(report.emptied.values())} rows in {len(report.emptied)} tables")
    click.echo(f"verified: row counts and checksums of all {len(report.tables)} tables match the source")
    click.echo(f"id counters set past the copied ids in {len(report.sequences)} tables")
    click.echo("to use the new database, set:")
    click.echo(report.settings_line)


@click.command("backup")
@click.option("--to", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="directory to write to (default: setting backup_dir)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def backup_command(obj: Context, directory: Path | None, as_json: bool) -> None:
    """An online backup of the configured database (SQLite backup API, or pg_dump) with a manifest;
    keeps the newest `backup_retention` backups of the directory."""
    from sublarr.core.backup import as_dict, backup

    kernel = obj.boot(auto_migrate=False, create="never")
    result = backup(kernel, directory, progress=_progress(as_json))
    if as_json:
        echo_json(as_dict(result))
        return
    for line in result.lines():
        click.echo(line)


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-safety-copy", is_flag=True, help="do not back up the current database first")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def restore_command(obj: Context, file: Path, no_safety_copy: bool, as_json: bool) -> None:
    """Replace the configured database with the backup FILE (atomically; the current database is
    backed up first). Refuses a backup from a newer schema than this sublarr knows."""
    from sublarr.core.backup import as_dict, restore

    if not file.is_file():
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
    kernel = obj.boot(auto_migrate=False)
    result = restore(kernel, file, safety_copy=not no_safety_copy, progress=_progress(as_json))
    if as_json:
        echo_json(as_dict(result))
        return
    for line in result.lines():
        click.echo(line)


COMMANDS = (adopt_command, copy_command, backup_command, restore_command)


def register(db_group: click.Group) -> None:
    """Add ``adopt``, ``copy``, ``backup`` and ``restore`` to the ``sublarr db`` group."""
    for command in COMMANDS:
        db_group.add_command(command)


# -- helpers ---------------------------------------------------------------------------------------

def _boot_other(obj: Context, url: str, option: str) -> Any:
    """A second kernel (same settings and plugins) on another database, not migrated yet."""
    try:
        return obj.boot(database_url=url, auto_migrate=False)
    except SettingsError as exc:
        # The user typed the URL as an option, not a setting: say so, with the password masked.
        raise click.UsageError(f"{option} {mask_url(url)}: {exc.problem}") from None


def _progress(as_json: bool) -> Progress | None:
    """Bars for a person at a terminal; none with ``--json`` or when stderr is a pipe or a file
    (click would still print each bar's label there)."""
    return None if as_json or not sys.stderr.isatty() else _progress_bar


@contextlib.contextmanager
def _progress_bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
    with click.progressbar(length=total, label=f"{label:<28}", file=sys.stderr, show_pos=True,
                           show_percent=True, width=30) as bar:
        yield bar.update
