"""``sublarr config``, ``plugins`` and ``events``: what is configured and loaded. No database is opened."""

from __future__ import annotations

import json

import click

from sublarr.cli.api import Context, echo_json, pass_context, table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def config(obj: Context, as_json: bool) -> None:
    """The resolved settings with the source of each value; secrets masked."""
    configuration = obj.configuration
    rows = configuration.settings.display()
    if as_json:
        echo_json({name: {"value": value, "source": source} for name, value, source in rows})
        return
    click.echo(f"settings files: {', '.join(configuration.settings_files) or '(none)'}")
    click.echo(table([[n, json.dumps(v) if not isinstance(v, str) else v, s] for n, v, s in rows],
                     ["setting", "value", "source"]))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def plugins(obj: Context, as_json: bool) -> None:
    """Plugins: name, version, source, status (with the reason), hooks, tables and migration head.
    Failed plugins are listed too; the command still exits 0."""
    listing = obj.configuration.plugin_listing()
    if as_json:
        echo_json(listing)
        return
    click.echo(table([[p["name"], p["version"], p["source"], p["status"] + (f": {p['reason']}" if p["reason"] else ""),
                       ", ".join(h.removeprefix("sublarr_") for h in p["hooks"]), ", ".join(p["tables"]),
                       p["migration_head"] or ""] for p in listing],
                     ["plugin", "version", "source", "status", "hooks", "tables", "head"]))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def events(obj: Context, as_json: bool) -> None:
    """The event catalog: names, labels, payload keys."""
    catalog = obj.configuration.events
    if as_json:
        echo_json([e.as_dict() for e in catalog.values()])
        return
    click.echo(table([[e.name, e.label, ", ".join(e.payload_keys), e.plugin] for e in catalog.values()],
                     ["event", "label", "payload keys", "plugin"]))
