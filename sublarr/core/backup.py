"""``sublarr db backup`` and ``sublarr db restore``: consistent backups through the storage driver.

How a backup is taken and put back is the storage driver's (``StorageDriver.backup`` /
``restore``): SQLite's online backup API and an atomic rename, ``pg_dump -Fc`` from an exported
snapshot and ``pg_restore --single-transaction``, ``mariadb-dump --single-transaction`` and the
``mariadb`` client in one transaction. What is common lives here:

Every backup is ``<dir>/sublarr-<UTC timestamp><driver suffix>`` plus a manifest beside it
(``<file>.json``: driver, schema revision per domain, kernel version, row counts, UTC time, size,
SHA-256). Backups and manifests are written with mode 0600 (they hold webhook secrets and API
keys). The manifest is written last: a backup without one is incomplete and is never restored
or counted. ``backup_retention`` keeps the newest N backups of the directory (0 keeps all);
safety copies taken before a restore are kept apart (``sublarr-safety-*``) and never count.
Restore refuses a backup whose schema revision this code does not know (a backup made by a newer
sublarr), a backup of another driver, and a file that does not match its manifest, before it
changes or writes anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sublarr import __version__
from sublarr.core.errors import SublarrError
from sublarr.core.timeutil import now_iso

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel
    from sublarr.core.transfer import Progress

log = logging.getLogger("sublarr.backup")

MANIFEST_FORMAT = 1
PREFIX = "sublarr-"
SAFETY_PREFIX = "sublarr-safety-"  # taken before a restore; never pruned by retention, never counted
VERSION_TABLE_PREFIX = "alembic_version_"


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
    """Write ``path`` (mode 0600) under a temporary name, then rename it into place."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


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
           note: str = "", prefix: str = PREFIX, progress: Progress | None = None) -> BackupResult:
    """Back up the kernel's database into ``directory`` (default: setting ``backup_dir``);
    ``progress`` is handed to the storage driver (``StorageDriver.backup``)."""
    started = time.monotonic()
    storage = kernel.storage
    folder = backup_directory(kernel, directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder / f"{prefix}{utc_stamp()}{storage.backup_suffix}")
    revisions, rows = storage.backup(target, progress=progress)
    database = storage.location()
    manifest = Manifest(driver=storage.name, file=target.name, created_at=now_iso(), kernel_version=__version__,
                        database=database, revisions=revisions, rows=rows, size=target.stat().st_size,
                        sha256=sha256_file(target), note=note)
    manifest_path = manifest.write(target)  # last: the backup counts from here on
    pruned = prune_backups(folder, int(kernel.settings.backup_retention)) if prune else []
    log.info("backup of %s written to %s", database, target)
    return BackupResult(target, manifest_path, manifest, pruned, time.monotonic() - started)


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


# -- retention -----------------------------------------------------------------------------------

def list_backups(directory: str | os.PathLike) -> list[tuple[Path, Manifest]]:
    """Complete sublarr backups in ``directory`` (file + manifest), newest first."""
    found = []
    for manifest_path in Path(directory).glob(f"{PREFIX}*.json"):
        if manifest_path.name.startswith(SAFETY_PREFIX):
            continue  # safety copies never push a real backup out of retention
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


def restore(kernel: Kernel, backup_file: str | os.PathLike, *, safety_copy: bool = True,
            progress: Progress | None = None) -> RestoreResult:
    """Replace the kernel's database with a backup (see the module doc).

    Everything that can refuse the restore is checked before anything is written. With
    ``safety_copy`` the current database is then backed up (``sublarr-safety-*`` in
    ``backup_dir``; retention neither prunes nor counts it). ``progress`` is handed to the storage
    driver, for the safety copy and the restore.
    """
    started = time.monotonic()
    path = Path(backup_file).expanduser().resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    manifest = Manifest.read(path)
    behind, not_loaded = check_restorable(kernel, path, manifest)
    problem = kernel.storage.backup_tools()
    if problem:
        raise BackupError(problem)
    saved = None
    if safety_copy:
        saved = backup(kernel, prune=False, prefix=SAFETY_PREFIX, progress=progress,
                       note=f"taken automatically before restoring {path.name}").path
    try:
        kernel.storage.restore(path, progress=progress)
    except DatabaseBusy:  # refused before anything changed: the safety copy is not needed
        if saved is not None:
            for leftover in (saved, Manifest.path_for(saved)):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        raise
    _verify_restored(kernel, manifest)
    return RestoreResult(path, manifest, saved, behind, not_loaded, time.monotonic() - started)


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
