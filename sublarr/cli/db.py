"""``sublarr db``: schema operations (upgrade, downgrade, current, history, check) on the configured
database; the data commands (adopt, copy, backup, restore) come from :mod:`sublarr.cli.data`."""

from __future__ import annotations

import click

from sublarr.cli.api import Context, echo_json, pass_context, table
from sublarr.cli.data import register as register_data_commands
from sublarr.core.errors import SublarrError


@click.group()
def db() -> None:
    """Schema and data operations on the configured database."""


def _boot_unmigrated(obj: Context, create: str = "never"):
    # only `db upgrade` creates a database (and its folders): the others look at an existing one,
    # so a typo in db_path is an error instead of a new, empty database
    return obj.boot(auto_migrate=False, create=create)


def _split_target(target: str) -> tuple[str | None, str]:
    if ":" in target:
        domain, revision = target.split(":", 1)
        return domain, revision
    return None, target


@db.command()
@click.argument("target", required=False, default="head")
@pass_context
def upgrade(obj: Context, target: str) -> None:
    """Apply migrations: every domain to head, or DOMAIN[:REVISION]. Creates a missing database."""
    kernel = _boot_unmigrated(obj, create="parents")
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

    configuration = obj.configuration
    migrator = Migrator(None, list(configuration.domains.values()), configuration.settings)
    names = [domain] if domain else [d.name for d in migrator.domains]
    for name in names:
        click.echo(f"{name}:")
        for script in migrator.history(name):
            click.echo(f"  {script.down_revision or '<base>'} -> {script.revision}"
                       f"{' (head)' if script.is_head else ''}  {script.doc or ''}".rstrip())


@db.command()
@pass_context
def check(obj: Context) -> None:
    """Exit 1 when the database is behind the code (or ahead of it), or a migration did not finish."""
    kernel = _boot_unmigrated(obj)
    interrupted = kernel.migrator.interrupted()
    if interrupted:
        raise SublarrError(interrupted[0].message(kernel.storage.name))
    behind = kernel.migrator.pending()
    if behind:
        for rev in behind:
            click.echo(f"{rev.domain}: database at {rev.current or '(empty)'}, code head {rev.head}", err=True)
        raise SublarrError(f"{len(behind)} domain(s) not at head: run `sublarr db upgrade`")
    click.echo("database is at head")


@db.command()
@click.argument("domain")
@pass_context
def resolve(obj: Context, domain: str) -> None:
    """Forget an interrupted migration of DOMAIN once its schema has been repaired (engines without
    transactional DDL, such as MariaDB, record every migration until it finishes)."""
    kernel = _boot_unmigrated(obj)
    found = {i.domain: i for i in kernel.migrator.interrupted()}
    if domain not in found:
        raise SublarrError(f"no interrupted migration of domain {domain!r} is recorded"
                           + (f" (recorded: {', '.join(sorted(found))})" if found else ""))
    kernel.migrator.resolve(domain)
    now = kernel.migrator.current().get(domain)
    click.echo(f"{domain}: the interrupted migration to {found[domain].to_revision} is forgotten; the database "
               f"records revision {now or 'base'}; run `sublarr db upgrade` to migrate again")


register_data_commands(db)  # adopt, copy, backup, restore
