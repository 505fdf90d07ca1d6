"""``sublarr status``: boot on the configured setup and show what runs."""

from __future__ import annotations

from typing import Any

import click

from sublarr import __version__
from sublarr.cli.api import Context, echo_json, pass_context, table
from sublarr.cli.jobs import status_counts
from sublarr.service.health import describe


def status_data(kernel) -> dict[str, Any]:
    from sublarr.service.backups import backup_problem
    from sublarr.service.health import Health

    revisions = kernel.migrator.status()
    problem = backup_problem(kernel)
    return {
        "version": __version__,
        # what /readyz of `sublarr run` would answer: ok / degraded / failing, with the reasons
        "health": Health(kernel, notes={"backup": problem} if problem else None).check().as_dict(),
        "storage": kernel.storage.describe(),
        "cache": {"driver": kernel.cache.name, **kernel.cache.stats()},
        "queue": {"driver": kernel.queue.name, **kernel.queue.info()},
        "jobs": status_counts(kernel),
        "schema": [{"domain": r.domain, "revision": r.current, "head": r.head, "up_to_date": r.up_to_date}
                   for r in revisions],
        "plugins": [info.as_dict() for info in kernel.plugins],
        "rows": kernel.row_counts(),
    }


def _indented(text: str) -> str:
    return text.replace("\n", "\n  ").join(["  ", ""])


@click.command()
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
    click.echo(f"health    {describe(data['health'])}")
    click.echo(f"storage   {storage.pop('driver')}  " + ", ".join(f"{k}={v}" for k, v in storage.items()))
    for kind in ("cache", "queue"):
        facts = dict(data[kind])
        click.echo(f"{kind:<9} {facts.pop('driver')}  " + ", ".join(f"{k}={v}" for k, v in facts.items()
                                                                   if k != "backend"))
    jobs = data["jobs"]
    click.echo("jobs      " + (f"not shown: {jobs['unavailable']}" if "unavailable" in jobs
                               else ", ".join(f"{k}={v}" for k, v in jobs.items())))
    behind = [s for s in data["schema"] if not s["up_to_date"]]
    click.echo(f"schema    {len(data['schema'])} domains, "
               + ("all at head" if not behind else f"{len(behind)} behind (run `sublarr db upgrade`)"))
    click.echo(_indented(table([[s["domain"], s["revision"] or "-", "" if s["up_to_date"] else f"head {s['head']}"]
                                for s in data["schema"]])))
    loaded = [p for p in data["plugins"] if p["status"] == "loaded"]
    click.echo(f"plugins   {len(loaded)} loaded" + (f", {len(data['plugins']) - len(loaded)} not loaded"
                                                   if len(loaded) != len(data["plugins"]) else ""))
    click.echo(_indented(table([[p["name"], p["version"], p["source"], p["status"],
                                 p["reason"] or ", ".join(h.removeprefix("sublarr_") for h in p["hooks"])]
                                for p in data["plugins"]])))
    click.echo(f"rows      {sum(v for v in data['rows'].values() if v > 0)} in {len(data['rows'])} tables")
    click.echo(_indented(table([[t, n] for t, n in sorted(data["rows"].items())])))
