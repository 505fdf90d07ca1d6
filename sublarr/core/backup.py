"""``sublarr db backup`` and ``sublarr db restore``: consistent backups of SQLite and PostgreSQL.

SQLite
    The online backup API copies the database in one step under a read transaction: consistent
    while the service keeps writing (WAL readers do not block writers). The copy is a single
    self-contained file (``journal_mode=DELETE``). Restore writes the backup beside the database,
    checks it, makes sure no other connection holds the database (its WAL is checkpointed and
    its last connection closed) and renames it over the database: atomic, never half-restored.

PostgreSQL
    ``pg_dump -Fc`` from the snapshot of a ``REPEATABLE READ`` transaction that also counts the
    rows and reads the schema revisions (``pg_export_snapshot``), so the manifest describes exactly
    what the dump holds. Restore runs ``pg_restore --clean --if-exists --single-transaction``:
    a failed restore changes nothing. The password goes to the client tools through
    ``PGPASSWORD`` in their environment, never on a command line (``ps`` shows command lines).

Every backup is ``<dir>/sublarr-<UTC timestamp>.db`` (or ``.dump``) plus a manifest beside it
(``<file>.json``: driver, schema revision per domain, kernel version, row counts, UTC time, size,
SHA-256). The manifest is written last: a backup without one is incomplete and is never restored
or counted. ``backup_retention`` keeps the newest N backups of the directory (0 keeps all).
Restore refuses a backup whose schema revision this code does not know (a backup made by a newer
sublarr), a backup of another driver, and a file that does not match its manifest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, make_url

from sublarr import __version__
from sublarr.core.errors import SublarrError
from sublarr.core.secrets import mask_url, scrub
from sublarr.core.timeutil import now_iso

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.backup")

MANIFEST_FORMAT = 1
PREFIX = "sublarr-"
VERSION_TABLE_PREFIX = "alembic_version_"
SUFFIXES = {"sqlite": ".db", "postgresql": ".dump"}


class BackupError(SublarrError):
    """A backup or restore could not be made; nothing was changed."""


class DatabaseBusy(SublarrError):
    """Another process holds the SQLite file open, so it cannot be replaced safely."""


# -- file helpers (shared with adoption) ----------------------------------------------------------

def utc_stamp() -> str:
    """``20261125T010203Z``: the UTC timestamp used in file names."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def unique_path(candidate: Path) -> Path:
    """``candidate``, or ``<stem>-1<suffix>``, ``-2``, ... when it exists already."""
    n = 0
    path = candidate
    while path.exists() or Path(f"{path}.json").exists():
        n += 1
        path = candidate.with_name(f"{candidate.stem}-{n}{candidate.suffix}")
    return path


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (skipped where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def sqlite_snapshot(source: sqlite3.Connection, destination: Path) -> Path:
    """Write a consistent copy of ``source`` to ``destination`` with the online backup API.

    The copy is written under a temporary name and renamed when complete (a kill never leaves a
    half copy under the final name), and it is one self-contained file (``journal_mode=DELETE``).
    """
    tmp = destination.with_name(destination.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    target = sqlite3.connect(tmp, isolation_level=None)
    try:
        source.backup(target)  # pages=-1: one step, so one consistent read transaction
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
    fsync_file(tmp)
    os.replace(tmp, destination)
    fsync_dir(destination.parent)
    return destination


def release_sqlite_file(conn: sqlite3.Connection, path: Path, timeout: float = 5.0) -> None:
    """Checkpoint ``path``'s WAL into it and close ``conn``, which must end up the last connection.

    The last connection to close removes ``-wal`` and ``-shm``. If they survive, another process
    holds the database open, and replacing the file under it would corrupt what it writes next.
    Sublarr processes that wait for the migration lock let go of their connections first, so a
    few retries within ``timeout`` seconds tell them apart from a program that keeps the file open.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        leftovers = [p.name for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        if not leftovers:
            return
        if time.monotonic() >= deadline:
            raise DatabaseBusy(f"{path} is open in another process ({', '.join(leftovers)} still exist); "
                               "stop every program that uses it and try again")
        time.sleep(0.1)
        conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)


def replace_sqlite_file(kernel: Kernel, new_file: Path) -> None:
    """Atomically put ``new_file`` (same directory, self-contained) in place of the kernel's SQLite file.

    Call with the migration lock held. The kernel's pool is emptied first and reconnects lazily.
    """
    path = Path(kernel.storage.path).expanduser().resolve()
    kernel.engine.dispose()
    busy = int(kernel.settings.db_busy_timeout_ms) / 1000
    release_sqlite_file(sqlite3.connect(path, isolation_level=None, timeout=busy), path, busy)
    os.replace(new_file, path)
    fsync_dir(path.parent)
    kernel.engine.dispose()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- manifest ------------------------------------------------------------------------------------

@dataclass
class Manifest:
    driver: str
    file: str
    created_at: str
    kernel_version: str
    database: str                                  # masked URL or file path
    revisions: dict[str, str | None] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    size: int = 0
    sha256: str = ""
    note: str = ""
    format: int = MANIFEST_FORMAT

    @staticmethod
    def path_for(backup_file: Path) -> Path:
        return backup_file.with_name(backup_file.name + ".json")

    def write(self, backup_file: Path) -> Path:
        path = self.path_for(backup_file)
        write_atomically(path, (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode())
        return path

    @classmethod
    def read(cls, backup_file: Path) -> Manifest:
        path = cls.path_for(backup_file)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise BackupError(f"{backup_file} has no manifest ({path.name}): it is not a complete "
                              "sublarr backup") from None
        except (OSError, ValueError) as exc:
            raise BackupError(f"cannot read the manifest {path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise BackupError(f"{path} is not a sublarr backup manifest of format {MANIFEST_FORMAT}")
        known = {f for f in cls.__dataclass_fields__}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise BackupError(f"{path} lacks fields: {exc}") from None


@dataclass
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: Manifest
    pruned: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        m = self.manifest
        lines = [f"backup written: {self.path} ({_size(m.size)}, {sum(m.rows.values())} rows in {len(m.rows)} "
                 f"tables) in {self.seconds:.1f}s",
                 f"manifest: {self.manifest_path}"]
        if self.pruned:
            lines.append(f"removed {len(self.pruned)} old backup(s) (backup_retention): "
                         + ", ".join(p.name for p in self.pruned))
        return lines


@dataclass
class RestoreResult:
    path: Path
    manifest: Manifest
    safety_copy: Path | None
    behind: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # domain -> (restored, head)
    not_loaded: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        m = self.manifest
        lines = [f"restored {self.path} (made {m.created_at} UTC by sublarr {m.kernel_version}; "
                 f"{sum(m.rows.values())} rows in {len(m.rows)} tables, verified) in {self.seconds:.1f}s"]
        if self.safety_copy:
            lines.append(f"the database as it was before is saved as {self.safety_copy}")
        if self.behind:
            lines.append("the restored schema is older than this sublarr: "
                         + ", ".join(f"{d} {r or 'empty'} (head {h})" for d, (r, h) in sorted(self.behind.items()))
                         + "; the next boot migrates it (auto_migrate), or run `sublarr db upgrade`")
        if self.not_loaded:
            lines.append(f"tables of domains that are not loaded were restored as they are: {', '.join(self.not_loaded)}")
        return lines


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


# -- backup --------------------------------------------------------------------------------------

def backup_directory(kernel: Kernel, directory: str | os.PathLike | None = None) -> Path:
    return Path(directory if directory is not None else kernel.settings.backup_dir).expanduser().resolve()


def backup(kernel: Kernel, directory: str | os.PathLike | None = None, *, prune: bool = True,
           note: str = "") -> BackupResult:
    """Back up the kernel's database into ``directory`` (default: setting ``backup_dir``)."""
    started = time.monotonic()
    driver = kernel.storage.name
    if driver not in SUFFIXES:
        raise BackupError(f"no backup method for storage driver {driver!r}")
    folder = backup_directory(kernel, directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder / f"{PREFIX}{utc_stamp()}{SUFFIXES[driver]}")
    if driver == "sqlite":
        revisions, rows = _backup_sqlite(kernel, target)
        database = str(Path(kernel.storage.path).resolve())
    else:
        revisions, rows = _backup_postgresql(kernel, target)
        database = mask_url(kernel.database_url)
    manifest = Manifest(driver=driver, file=target.name, created_at=now_iso(), kernel_version=__version__,
                        database=database, revisions=revisions, rows=rows, size=target.stat().st_size,
                        sha256=sha256_file(target), note=note)
    manifest_path = manifest.write(target)  # last: the backup counts from here on
    pruned = prune_backups(folder, int(kernel.settings.backup_retention)) if prune else []
    log.info("backup of %s written to %s", database, target)
    return BackupResult(target, manifest_path, manifest, pruned, time.monotonic() - started)


def _backup_sqlite(kernel: Kernel, target: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    if not getattr(kernel.storage, "path", None):
        raise BackupError("an in-memory SQLite database cannot be backed up")
    raw = kernel.engine.raw_connection()  # a pooled connection: busy_timeout and WAL as configured
    try:
        sqlite_snapshot(raw.driver_connection, target)
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    finally:
        raw.close()
    return describe_sqlite_file(target)


def describe_sqlite_file(path: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    """(schema revision per domain, row count per table) read from a SQLite file."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        revisions: dict[str, str | None] = {}
        rows: dict[str, int] = {}
        for name in names:
            quoted = '"' + name.replace('"', '""') + '"'
            if name.startswith(VERSION_TABLE_PREFIX):
                found = conn.execute(f"SELECT version_num FROM {quoted}").fetchall()
                revisions[name[len(VERSION_TABLE_PREFIX):]] = found[0][0] if found else None
            elif not name.startswith("alembic_version"):
                rows[name] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
        return revisions, rows
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    finally:
        conn.close()


def describe_connection(conn: Connection) -> tuple[dict[str, str | None], dict[str, int]]:
    """(schema revision per domain, row count per table) of the connection's default schema."""
    revisions: dict[str, str | None] = {}
    rows: dict[str, int] = {}
    preparer = conn.dialect.identifier_preparer
    for name in sorted(sa.inspect(conn).get_table_names()):
        quoted = preparer.quote_identifier(name)
        if name.startswith(VERSION_TABLE_PREFIX):
            found = conn.exec_driver_sql(f"SELECT version_num FROM {quoted}").fetchall()
            revisions[name[len(VERSION_TABLE_PREFIX):]] = found[0][0] if found else None
        elif not name.startswith("alembic_version"):
            rows[name] = conn.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar_one()
    return revisions, rows


def _backup_postgresql(kernel: Kernel, target: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    pg_dump = _client_tool("pg_dump")
    tmp = target.with_name(target.name + ".tmp")
    with kernel.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            # pg_dump reads the snapshot of this transaction: the counts and revisions below
            # describe exactly the rows it dumps, even while the service keeps writing.
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            revisions, rows = describe_connection(conn)
            _run_client(pg_dump, ["--format=custom", f"--snapshot={snapshot}", f"--file={tmp}"],
                        make_url(kernel.database_url), "pg_dump")
    fsync_file(tmp)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    return revisions, rows


def _client_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found on PATH: install the PostgreSQL client tools (Debian/Ubuntu: "
                          f"apt-get install postgresql-client, at least the server's major version) to back up "
                          f"or restore a PostgreSQL database")
    return found


# libpq settings that may ride in the URL query, and the environment variables the tools read them from.
_LIBPQ_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
              "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS",
              "application_name": "PGAPPNAME", "host": "PGHOST", "port": "PGPORT"}


def client_environment(url: URL) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: connection and password through PG* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in _LIBPQ_ENV.items():
        value = url.query.get(key)
        if value:
            env[var] = value if isinstance(value, str) else value[-1]
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.database:
        env["PGDATABASE"] = url.database
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run_client(tool: str, args: list[str], url: URL, label: str) -> None:
    # --no-password: fail at once instead of waiting for a password on a terminal nobody watches.
    command = [tool, "--no-password", *args]
    try:
        done = subprocess.run(command, env=client_environment(url), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as exc:
        raise BackupError(f"{label} could not run: {exc}") from None
    if done.returncode != 0:
        detail = scrub(" ".join((done.stderr or done.stdout or "").strip().splitlines()[:3]))
        raise BackupError(f"{label} failed (exit status {done.returncode}): {detail or 'no message'}")


# -- retention -----------------------------------------------------------------------------------

def list_backups(directory: str | os.PathLike) -> list[tuple[Path, Manifest]]:
    """Complete sublarr backups in ``directory`` (file + manifest), newest first."""
    found = []
    for manifest_path in Path(directory).glob(f"{PREFIX}*.json"):
        backup_file = manifest_path.with_name(manifest_path.name[: -len(".json")])
        if not backup_file.is_file():
            continue
        with contextlib.suppress(BackupError):
            found.append((backup_file, Manifest.read(backup_file)))
    found.sort(key=lambda item: (item[1].created_at, item[0].name), reverse=True)
    return found


def prune_backups(directory: str | os.PathLike, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (0 keeps all); returns the deleted backup files."""
    if keep <= 0:
        return []
    removed = []
    for backup_file, _manifest in list_backups(directory)[keep:]:
        for path in (backup_file, Manifest.path_for(backup_file)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(backup_file)
    return removed


# -- restore -------------------------------------------------------------------------------------

def check_restorable(kernel: Kernel, backup_file: Path, manifest: Manifest) -> tuple[dict, list[str]]:
    """Refuse what cannot be restored here; return (domains behind head, domains not loaded)."""
    if manifest.driver != kernel.storage.name:
        raise BackupError(f"{backup_file.name} is a {manifest.driver} backup and the configured database is "
                          f"{kernel.storage.name}; restore it into a {manifest.driver} database and use "
                          "`sublarr db copy` to move the data across")
    if backup_file.stat().st_size != manifest.size or sha256_file(backup_file) != manifest.sha256:
        raise BackupError(f"{backup_file} does not match its manifest (size or SHA-256): the file is damaged")
    heads = kernel.migrator.heads()
    behind: dict[str, tuple[str | None, str | None]] = {}
    not_loaded = []
    for domain, revision in sorted(manifest.revisions.items()):
        if domain not in kernel.migrator.scripts:
            not_loaded.append(domain)
            continue
        if revision is None:
            behind[domain] = (None, heads[domain])
            continue
        try:
            kernel.migrator.scripts[domain].get_revision(revision)
        except Exception:
            raise BackupError(f"{backup_file.name} comes from a newer schema: domain {domain} is at revision "
                              f"{revision}, which this sublarr ({__version__}) does not know; upgrade sublarr "
                              "before restoring it") from None
        if revision != heads[domain]:
            behind[domain] = (revision, heads[domain])
    return behind, not_loaded


def restore(kernel: Kernel, backup_file: str | os.PathLike, *, safety_copy: bool = True) -> RestoreResult:
    """Replace the kernel's database with a backup (see the module doc).

    With ``safety_copy`` the current database is backed up first (into ``backup_dir``, not pruned).
    """
    started = time.monotonic()
    path = Path(backup_file).expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    manifest = Manifest.read(path)
    behind, not_loaded = check_restorable(kernel, path, manifest)
    saved = None
    if safety_copy:
        saved = backup(kernel, prune=False, note=f"taken automatically before restoring {path.name}").path
    if manifest.driver == "sqlite":
        _restore_sqlite(kernel, path)
    else:
        _restore_postgresql(kernel, path)
    _verify_restored(kernel, manifest)
    return RestoreResult(path, manifest, saved, behind, not_loaded, time.monotonic() - started)


def _restore_sqlite(kernel: Kernel, backup_file: Path) -> None:
    db = Path(kernel.storage.path).expanduser().resolve()
    work = db.with_name(f".{db.name}.restore-{utc_stamp()}-{os.getpid()}.tmp")
    source = sqlite3.connect(f"{backup_file.as_uri()}?mode=ro", uri=True)
    try:
        sqlite_snapshot(source, work)
    finally:
        source.close()
    try:
        check = sqlite3.connect(work)
        try:
            result = check.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            check.close()
        if result != "ok":
            raise BackupError(f"{backup_file} failed the integrity check: {result}")
        with kernel.storage.migration_lock(None):  # type: ignore[arg-type]  # no boot migrates meanwhile
            replace_sqlite_file(kernel, work)
    finally:
        for leftover in (work, Path(f"{work}.tmp"), Path(f"{work}-journal")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _restore_postgresql(kernel: Kernel, backup_file: Path) -> None:
    pg_restore = _client_tool("pg_restore")
    url = make_url(kernel.database_url)
    kernel.engine.dispose()
    with kernel.engine.connect() as conn, kernel.storage.migration_lock(conn):
        # One transaction: a failed restore leaves the database as it was. Owners and grants of the
        # dumped server are not replayed: the configured user owns what it restores.
        _run_client(pg_restore, ["--clean", "--if-exists", "--single-transaction", "--exit-on-error",
                                 "--no-owner", "--no-privileges", f"--dbname={url.database}", str(backup_file)],
                     url, "pg_restore")
    kernel.engine.dispose()


def _verify_restored(kernel: Kernel, manifest: Manifest) -> None:
    with kernel.engine.connect() as conn:
        try:
            revisions, rows = describe_connection(conn)
        finally:
            conn.rollback()
    for domain, revision in manifest.revisions.items():
        if revisions.get(domain) != revision:
            raise BackupError(f"after the restore, domain {domain} is at {revisions.get(domain)}, the backup "
                              f"says {revision}")
    for table, count in manifest.rows.items():
        if rows.get(table) != count:
            raise BackupError(f"after the restore, table {table} has {rows.get(table)} rows, the backup "
                              f"says {count}")


def as_dict(result: BackupResult | RestoreResult) -> dict[str, Any]:
    data: dict[str, Any] = {"path": str(result.path), "manifest": asdict(result.manifest),
                            "seconds": round(result.seconds, 3)}
    if isinstance(result, BackupResult):
        data["manifest_path"] = str(result.manifest_path)
        data["pruned"] = [str(p) for p in result.pruned]
    else:
        data["safety_copy"] = str(result.safety_copy) if result.safety_copy else None
        data["behind"] = {d: {"restored": r, "head": h} for d, (r, h) in result.behind.items()}
        data["not_loaded"] = result.not_loaded
    return data
