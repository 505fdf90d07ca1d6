"""Schema migrations: every domain's Alembic history, applied under a cross-process lock.

Upgrades run on one dedicated connection (Bazarr#2601: a pool that closed the connection
mid-upgrade failed silently), inside the storage driver's migration lock (PostgreSQL
advisory lock, a file lock for SQLite). Inside the lock the current revisions are read
again, so of N processes booting together only the first migrates. Afterwards every
domain's revision is verified against its head, and a mismatch fails loudly.

An engine without transactional DDL (``StorageFeatures.transactional_ddl`` False: MariaDB and
MySQL commit each schema statement) cannot roll a revision back when it fails or the process dies
half-way. There each upgrade or downgrade of a domain is written to a journal table
(``sublarr_migration_journal``) before it starts and removed when it has finished. A row still
there means a revision may be half-applied: every later migration refuses to run and says which
domain, which revisions and how to recover, instead of failing on "table already exists" or
building on a half-made schema. :meth:`Migrator.resolve` clears the row once the operator has
repaired the schema (``sublarr db resolve DOMAIN``).
"""

from __future__ import annotations

import ast
import contextlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sublarr.core.domain import Domain
from sublarr.core.errors import MigrationError
from sublarr.core.timeutil import now_iso
from sublarr.drivers.base import StorageDriver
from sublarr.migrations import ENVIRONMENT

if TYPE_CHECKING:  # Alembic is imported only when scripts run: a boot on an up-to-date database skips it
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

log = logging.getLogger("sublarr.migrate")


@dataclass(frozen=True)
class Revision:
    domain: str
    current: str | None
    head: str | None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


JOURNAL = sa.Table(
    "sublarr_migration_journal", sa.MetaData(),
    sa.Column("domain", sa.String(255), primary_key=True),
    sa.Column("from_revision", sa.String(255)),
    sa.Column("to_revision", sa.String(255), nullable=False),
    sa.Column("started_at", sa.String(32), nullable=False),
)


@dataclass(frozen=True)
class Interrupted:
    """A migration of ``domain`` that started and never finished (engines without transactional DDL)."""

    domain: str
    from_revision: str | None
    to_revision: str
    started_at: str
    now_at: str | None  # the revision recorded now: the steps up to it finished, the next one did not

    def message(self, engine: str) -> str:
        return (f"the migration of domain {self.domain} from {self.from_revision or 'nothing'} to {self.to_revision} "
                f"(started {self.started_at} UTC) did not finish; {engine} cannot roll back schema changes, so the "
                f"step after revision {self.now_at or 'base'} may be half-applied. Restore the backup taken before "
                f"(`sublarr db restore FILE`), or finish or undo that revision's changes by hand; then run "
                f"`sublarr db resolve {self.domain}` and migrate again")


def order_domains(domains: Sequence[Domain]) -> list[Domain]:
    """Registration order, except that a domain comes after the domains it ``requires``."""
    by_name = {d.name: d for d in domains}
    ordered: list[Domain] = []
    visiting: set[str] = set()

    def visit(domain: Domain) -> None:
        if domain in ordered:
            return
        if domain.name in visiting:
            raise MigrationError(f"domain {domain.name!r} requires itself through {sorted(visiting)}")
        visiting.add(domain.name)
        for name in domain.requires:
            if name in by_name:
                visit(by_name[name])
        visiting.discard(domain.name)
        ordered.append(domain)

    for domain in domains:
        visit(domain)
    return ordered


class Migrator:
    def __init__(self, storage: StorageDriver | None, domains: Iterable[Domain], settings=None):
        """``storage=None`` gives a migrator that can only read scripts (history, heads)."""
        self.storage = storage
        self.engine = storage.engine if storage is not None else None
        self.settings = settings
        self.domains = order_domains([d for d in domains if d.migrations])

    @property
    def _db(self) -> StorageDriver:
        """The storage of a migrator that reads or changes the database (not only scripts)."""
        if self.storage is None:
            raise MigrationError("this migrator only reads migration scripts: it has no database")
        return self.storage

    def domain(self, name: str) -> Domain:
        for domain in self.domains:
            if domain.name == name:
                return domain
        known = ", ".join(d.name for d in self.domains)
        raise MigrationError(f"no domain {name!r} with migrations (known: {known})")

    # -- scripts --------------------------------------------------------------------------------

    def config(self, domain: Domain, connection: Connection | None = None) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(ENVIRONMENT))
        cfg.set_main_option("version_locations", str(domain.migrations))
        cfg.set_main_option("path_separator", "os")
        cfg.attributes.update(
            connection=connection,
            version_table=domain.version_table,
            target_metadata=_metadata_of(domain),
            include_name=_owned_names(domain),
            domain=domain,
            settings=self.settings,
        )
        return cfg

    @cached_property
    def scripts(self) -> dict[str, ScriptDirectory]:
        from alembic.script import ScriptDirectory

        return {d.name: ScriptDirectory.from_config(self.config(d)) for d in self.domains}

    @cached_property
    def _heads(self) -> dict[str, tuple[str, ...]]:
        result = {}
        for domain in self.domains:
            heads = static_heads(Path(domain.migrations))  # type: ignore[arg-type]  # self.domains have migrations
            result[domain.name] = heads if heads is not None else tuple(self.scripts[domain.name].get_heads())
        return result

    def heads(self) -> dict[str, str | None]:
        result = {}
        for name, heads in self._heads.items():
            if len(heads) > 1:
                raise MigrationError(f"domain {name!r} has {len(heads)} migration heads ({', '.join(heads)}); "
                                     "each plugin's history must be linear")
            result[name] = heads[0] if heads else None
        return result

    def history(self, name: str) -> list[Script]:
        return list(self.scripts[name].walk_revisions())

    # -- state ----------------------------------------------------------------------------------

    def current(self, connection: Connection | None = None) -> dict[str, str | None]:
        if connection is None:
            with self._db.engine.execution_options(**self._db.read_options()).connect() as conn:
                try:
                    return self._current(conn, own=True)
                finally:
                    conn.rollback()
        return self._current(connection, own=False)

    def _current(self, connection: Connection, own: bool) -> dict[str, str | None]:
        tables = set(sa_inspect(connection).get_table_names())
        quote = connection.dialect.identifier_preparer.quote
        present = [d for d in self.domains if d.version_table in tables]
        # the tables Alembic keeps (one row per head, column version_num)
        found = _version_rows(connection, [quote(d.version_table) for d in present], own)
        result: dict[str, str | None] = {d.name: None for d in self.domains}
        for domain, versions in zip(present, found):
            heads = sorted(versions)
            result[domain.name] = heads[0] if heads else None
        return result

    def status(self, connection: Connection | None = None) -> list[Revision]:
        current = self.current(connection)
        heads = self.heads()
        return [Revision(d.name, current[d.name], heads[d.name]) for d in self.domains]

    def pending(self, connection: Connection | None = None) -> list[Revision]:
        return [r for r in self.status(connection) if not r.up_to_date]

    # -- the journal (engines without transactional DDL) ----------------------------------------

    def interrupted(self, connection: Connection | None = None) -> list[Interrupted]:
        """Migrations that started and never finished (always empty where DDL is transactional)."""
        if self.storage is None or self.storage.features.transactional_ddl:
            return []
        if connection is None:
            with self._db.engine.connect() as conn:
                try:
                    return self.interrupted(conn)
                finally:
                    conn.rollback()
        if JOURNAL.name not in set(sa_inspect(connection).get_table_names()):
            return []
        current = self.current(connection)
        rows = connection.execute(sa.select(JOURNAL).order_by(JOURNAL.c.domain)).all()
        return [Interrupted(r.domain, r.from_revision, r.to_revision, r.started_at, current.get(r.domain))
                for r in rows]

    def resolve(self, domain: str) -> bool:
        """Forget an interrupted migration of ``domain`` after the schema was repaired; False if none."""
        if self._db.features.transactional_ddl:
            return False

        def run(conn: Connection) -> bool:
            if JOURNAL.name not in set(sa_inspect(conn).get_table_names()):
                return False
            removed = conn.execute(JOURNAL.delete().where(JOURNAL.c.domain == domain)).rowcount
            conn.commit()
            return bool(removed)

        return self._locked(run)

    def _journaled(self, conn: Connection, domain: str, before: str | None, target: str, step) -> None:
        """Run ``step()`` (an Alembic command), journaled where DDL is not transactional."""
        if self._db.features.transactional_ddl:
            step()
            return
        JOURNAL.create(conn, checkfirst=True)
        conn.execute(JOURNAL.insert().values(domain=domain, from_revision=before, to_revision=target,
                                             started_at=now_iso()[:19]))
        conn.commit()
        step()  # an exception leaves the row: the next migration reports it
        if conn.in_transaction():
            conn.commit()
        conn.execute(JOURNAL.delete().where(JOURNAL.c.domain == domain))
        conn.commit()

    def _refuse_interrupted(self, conn: Connection) -> None:
        found = self.interrupted(conn)
        if found:
            raise MigrationError(found[0].message(self._db.name)
                                 + (f" (and {len(found) - 1} more domain(s))" if len(found) > 1 else ""))

    # -- changes --------------------------------------------------------------------------------

    def _locked(self, action):
        """Run ``action(connection)`` on one dedicated connection inside the migration lock."""
        with self._db.engine.connect() as conn:
            self._db.prepare_migration(conn)
            ok = False
            try:
                with self._db.migration_lock(conn):
                    result = action(conn)
                ok = True
            finally:
                if ok:
                    if conn.in_transaction():
                        conn.commit()
                    self._db.finish_migration(conn)
                else:
                    conn.invalidate()  # never hand a connection with foreign_keys=OFF back to the pool
        return result

    def upgrade(self, domain: str | None = None, revision: str = "head") -> list[Revision]:
        """Bring one domain (or all) to ``revision``; returns what changed. Safe under concurrency."""
        targets = [self.domain(domain)] if domain else self.domains
        if revision == "head" and not any(r.domain in {t.name for t in targets} for r in self.pending()):
            return []  # the common boot: up to date, so no lock and no dedicated connection

        from alembic import command as alembic_command

        def run(conn: Connection) -> list[Revision]:
            changed = []
            self._refuse_interrupted(conn)
            before = self.current(conn)  # read again inside the lock
            legacy = unversioned_tables(conn, self.domains)
            if legacy:
                # Creating the missing tables would fail half-way on "table already exists" and leave
                # a database that is neither legacy nor migrated: adoption must come first.
                raise MigrationError(
                    f"the database holds {len(legacy)} sublarr tables ({', '.join(legacy[:3])}, ...) but no "
                    "migration history: it is a legacy Sublarr database; adopt it with `sublarr db adopt PATH` "
                    "(booting with auto_migrate does it too)")
            for target in targets:
                if revision == "head" and before[target.name] == self.heads()[target.name]:
                    continue
                log.info("migrating %s: %s -> %s", target.name, before[target.name] or "empty", revision)
                self._journaled(conn, target.name, before[target.name], revision,
                                lambda t=target: alembic_command.upgrade(self.config(t, conn), revision))
                if conn.in_transaction():
                    conn.commit()
                changed.append(Revision(target.name, before[target.name], self.current(conn)[target.name]))
            if revision == "head":
                behind = [r for r in self.status(conn) if r.domain in {t.name for t in targets} and not r.up_to_date]
                if behind:
                    detail = ", ".join(f"{r.domain} at {r.current} (head {r.head})" for r in behind)
                    raise MigrationError(f"migration did not reach head: {detail}")
            return changed

        return self._locked(run)

    def downgrade(self, revision: str, domain: str | None = None) -> list[Revision]:
        """Downgrade one domain to ``revision`` or, with ``revision='base'`` and no domain, all of them
        (in reverse dependency order)."""
        if domain is None and revision != "base":
            raise MigrationError("downgrade to a revision needs a domain: use DOMAIN:REVISION, or 'base'")
        targets = [self.domain(domain)] if domain else list(reversed(self.domains))
        from alembic import command as alembic_command

        def run(conn: Connection) -> list[Revision]:
            changed = []
            self._refuse_interrupted(conn)
            for target in targets:
                before = self.current(conn)[target.name]
                if before is None and revision == "base":
                    continue
                self._journaled(conn, target.name, before, revision,
                                lambda t=target: alembic_command.downgrade(self.config(t, conn), revision))
                if conn.in_transaction():
                    conn.commit()
                changed.append(Revision(target.name, before, self.current(conn)[target.name]))
            return changed

        return self._locked(run)

    def stamp(self, revisions: dict[str, str]) -> None:
        """Record ``{domain: revision}`` without running anything (adoption of legacy databases)."""
        from alembic import command as alembic_command

        def run(conn: Connection) -> None:
            for name, rev in revisions.items():
                alembic_command.stamp(self.config(self.domain(name), conn), rev)
                if conn.in_transaction():
                    conn.commit()

        self._locked(run)


def _version_rows(connection: Connection, quoted: Sequence[str], own: bool) -> list[list[str]]:
    """The ``version_num`` rows of each (quoted) version table, in order.

    All tables in one ``UNION ALL`` statement: one round trip instead of one per domain, which is
    what counts on a network database. A table that cannot be read fails the whole statement; on a
    connection of our own (``own``) the tables are then read one by one, so the error names the table
    that failed, as it did before. A caller's connection is not rolled back under it: the error is raised.
    """
    found: list[list[str]] = [[] for _ in quoted]
    if not quoted:
        return found
    union = " UNION ALL ".join(f"SELECT {i} AS d, version_num FROM {q}" for i, q in enumerate(quoted))
    try:
        rows = connection.execute(text(union)).all()
    except Exception:
        if not own:
            raise
        connection.rollback()
        return [list(connection.execute(text(f"SELECT version_num FROM {q}")).scalars()) for q in quoted]
    for index, version in rows:
        found[int(index)].append(version)
    return found


def legacy_file(storage: StorageDriver, domains: Iterable[Domain]) -> bool:
    """A file database with domain tables and no migration history: a legacy Sublarr file to adopt.

    Here rather than in :mod:`sublarr.core.adopt` so that every boot can ask without importing the
    adoption (and backup) code, which only a legacy file needs.
    """
    if not (storage.features.file_based and storage.path):
        return False
    with storage.engine.connect() as conn:
        try:
            return bool(unversioned_tables(conn, domains))
        finally:
            conn.rollback()


def unversioned_tables(connection: Connection, domains: Iterable[Domain]) -> list[str]:
    """Domain tables present in a database that has no ``alembic_version*`` table at all.

    Non-empty means a pre-Alembic (legacy Sublarr) database: the tables exist, their migration
    history does not. Such a database is adopted (:mod:`sublarr.core.adopt`), never upgraded.
    """
    names = set(sa_inspect(connection).get_table_names())
    if any(name.startswith("alembic_version") for name in names):
        return []
    return sorted(names & {table.name for domain in domains for table in domain.tables})


def _metadata_of(domain: Domain):
    return domain.tables[0].metadata if domain.tables else None


def _owned_names(domain: Domain):
    owned = {t.name for t in domain.tables}

    def include_name(name, type_, parent_names):
        # autogenerate compares only this domain's tables, never another plugin's
        if type_ == "table":
            return name in owned
        return True

    return include_name


def static_heads(folder: Path) -> tuple[str, ...] | None:
    """The heads of a folder of revision files, read without importing them (or Alembic).

    Alembic imports every revision module to learn its ``revision`` and ``down_revision``; on a
    boot where every domain is up to date that is most of the start-up time. The values are plain
    literals in every revision file Alembic writes, so they are read from the syntax tree. ``None``
    (use Alembic) when a file computes them, so the answer is never a guess.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in folder.glob("*.py"):
        if path.name == "__init__.py" or path.name.startswith(".#"):
            continue  # the files Alembic skips
        try:
            values = _literals(path, ("revision", "down_revision"))
        except (OSError, SyntaxError, ValueError):
            return None
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
            parents.update(down)
        elif down is not None:
            return None
    return tuple(sorted(revisions - parents))


# the first top-level ``def``/``class``/decorator: in a revision file, the upgrade() and downgrade() bodies
_FIRST_DEFINITION = re.compile(rb"^(?:def |async def |class |@)", re.MULTILINE)


def _literals(path: Path, names: tuple[str, ...]) -> dict[str, object]:
    source = path.read_bytes()
    # Parsing the whole file is most of the cost (the operations of upgrade/downgrade); the head of
    # the file, before the first top-level definition, is parsed alone when it is a complete module
    # by itself (else SyntaxError: a cut inside a string or a bracket) and the rest never names
    # what is looked for (else it might rebind it): the same answer as the whole file's, cheaper.
    cut = _FIRST_DEFINITION.search(source)
    tree = None
    if cut is not None and not any(name.encode() in source[cut.start():] for name in names):
        with contextlib.suppress(SyntaxError):
            tree = ast.parse(source[:cut.start()], filename=str(path))
    if tree is None:
        tree = ast.parse(source, filename=str(path))
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)  # ValueError when not a literal
    return found
