"""Shared helpers of the data mobility tests: CLI settings files, fingerprints, subprocess runs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from sublarr import Kernel

REPO = Path(__file__).resolve().parents[2]


def boot(url: str, **overrides: Any) -> Kernel:
    """A test kernel: no settings files, no entry-point plugins, no Redis."""
    overrides.setdefault("redis_url", "")
    return Kernel.boot(database_url=url, settings_files=[], entry_points=False, **overrides)


def settings_file(tmp_path: Path, **values: Any) -> Path:
    """A settings.toml for CLI runs (``--settings FILE``): only built-in plugins, no Redis."""
    lines = []
    # load_plugins = []: only the built-in plugins, like the kernels the tests boot directly
    for key, value in {"redis_url": "", "load_plugins": [], **values}.items():
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(str(v)) for v in value)}]")
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    path = tmp_path / f"settings-{len(list(tmp_path.glob('settings-*.toml')))}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def fingerprint(path: str | Path) -> dict[str, tuple[int, str]]:
    """``{table: (rows, sha256 of the rows ordered by rowid)}`` of a SQLite file, read with plain sqlite3."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        result = {}
        for table in tables:
            digest = hashlib.sha256()
            n = 0
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'):
                digest.update(repr(row).encode())
                n += 1
            result[table] = (n, digest.hexdigest())
        return result
    finally:
        conn.close()


def tables_of(path: str | Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def integrity(path: str | Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -c code args...`` from the repository root, with the test's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_python(code: str, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def fill_database(kernel: Kernel, rows: int = 20, wanted: int = 100, start: int = 0) -> dict[str, int]:
    """Write rows into every table of every loaded domain at head (the legacy row factories, cut to
    the head columns); returns the rows written per table."""
    import sqlalchemy as sa

    from .legacy import ROWS, legacy_ts

    def ts(i: int) -> str:
        return legacy_ts(i, False)

    written: dict[str, int] = {}
    tables = {t.name: t for d in kernel.domains.values() for t in d.tables}
    with kernel.engine.begin() as conn:
        profile_ids = []
        for name, table in tables.items():
            if name not in ROWS:
                continue
            n = wanted if name == "wanted_items" else rows
            columns = {c.name for c in table.columns}
            batch = [{k: v for k, v in ROWS[name](start + i, ts).items() if k in columns} for i in range(n)]
            if name == "language_profiles":
                conn.execute(sa.delete(table))  # the seeded "Default" would collide with our rows' names
            if name == "prompt_presets":
                conn.execute(sa.delete(table))
            for chunk in range(0, len(batch), 5000):
                conn.execute(table.insert(), batch[chunk:chunk + 5000])
            written[name] = n
            if name == "language_profiles":
                profile_ids = [r[0] for r in conn.execute(sa.select(table.c.id))]
        for name, key in (("series_language_profiles", "sonarr_series_id"),
                          ("movie_language_profiles", "radarr_movie_id")):
            if name in tables and profile_ids:
                conn.execute(tables[name].insert(), [{key: start + 100 + i, "profile_id": profile_ids[i % len(profile_ids)]}
                                                     for i in range(rows)])
                written[name] = rows
    return written
