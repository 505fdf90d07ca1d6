"""The plugin module named by the entry point: every hook the watchlist implements."""

from __future__ import annotations

from pathlib import Path

import click

from sublarr import hookimpl
from sublarr.cli.api import Context, echo_json, pass_context, table
from sublarr.core.domain import Domain
from sublarr.core.settings import Setting

from . import __version__
from .models import WatchEntry
from .repository import WatchlistRepository

SUBLARR_REQUIRES = ">=0.1,<1"  # kernel versions this plugin supports


@hookimpl
def sublarr_settings():
    return [Setting("watchlist_max_entries", 100, int, "how many folders the watchlist may hold", minimum=1)]


@hookimpl
def sublarr_domains():
    return [Domain(name="watchlist", version=__version__, tables=[WatchEntry.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=WatchlistRepository)]


@hookimpl
def sublarr_event(kernel, event, payload):
    if event == "subtitle_downloaded" and payload.get("file_path"):
        kernel.repo("watchlist").count_download(str(payload["file_path"]))


@hookimpl
def sublarr_cli(cli):
    cli.add_command(watchlist)


@click.group()
def watchlist():
    """Folders you follow, and the subtitles that arrived for them."""


@watchlist.command("add")
@click.argument("path_prefix")
@click.option("--label", default="")
@pass_context
def add(obj: Context, path_prefix: str, label: str) -> None:
    """Watch PATH_PREFIX."""
    kernel = obj.boot()
    click.echo(kernel.repo("watchlist").add_watch(path_prefix, label))


@watchlist.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_(obj: Context, as_json: bool) -> None:
    """Show the watchlist."""
    entries = obj.boot().repo("watchlist").get_watchlist()
    if as_json:
        echo_json(entries)
        return
    click.echo(table([[e["id"], e["path_prefix"], e["label"], e["downloads"]] for e in entries],
                     ["id", "path", "label", "downloads"]))
