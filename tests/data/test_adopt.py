"""Adoption of legacy Sublarr SQLite databases: every stage, every table, every row, crash-safe."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from sublarr.core.adopt import STEPS, AdoptionError, NotLegacy, adopt, adopt_if_legacy
from sublarr.core.backup import DatabaseBusy
from sublarr.core.errors import MigrationError
from sublarr.core.timeutil import normalise

from .helpers import boot, fingerprint, integrity, run_python, settings_file, start_python, tables_of
from .legacy import (
    FINAL_STAGE,
    LEGACY_TABLES,
    MIGRATED_COLUMNS,
    PROVIDER_STATS_LATE,
    LegacyDb,
    columns_of,
    is_timestamp_column,
    make_legacy_db,
    read_table,
)

PRIMARY_KEYS = {"jobs": "id", "daily_stats": "date", "config_entries": "key", "series_language_profiles":
                "sonarr_series_id", "movie_language_profiles": "radarr_movie_id", "ffprobe_cache": "file_path",
                "provider_stats": "provider_name", "anidb_mappings": "tvdb_id",
                "translation_backend_stats": "backend_name", "whisper_jobs": "id", "metadata_cache": "cache_key",
                "provider_score_modifiers": "provider_name"}

# (stage, created_stage): a fresh final database, an old one upgraded through every step (provider_stats'
# late columns appended), one that stopped before most ALTER TABLE steps and later tables, and one between.
STAGES = [(FINAL_STAGE, FINAL_STAGE), (FINAL_STAGE, 0), (3, 0), (12, 5)]


def _legacy_defaults() -> dict[tuple[str, str], object]:
    """(table, column) -> the value an ALTER TABLE ... ADD COLUMN gave existing rows."""
    defaults: dict[tuple[str, str], object] = {}
    ddls = [(t, d) for _s, t, d in MIGRATED_COLUMNS] + [("provider_stats", d) for d in PROVIDER_STATS_LATE]
    for table, ddl in ddls:
        name, _type, *rest = ddl.split(" ", 2)
        default = rest[0].removeprefix("DEFAULT ") if rest else None
        if default is None:
            value: object = None
        elif default.startswith("'"):
            value = default[1:-1]
        else:
            value = int(default)
        defaults[(table, name)] = value
    return defaults


LEGACY_DEFAULTS = _legacy_defaults()


def expected_rows(db: LegacyDb, legacy_copy: Path, table: str) -> list[dict]:
    """The rows adoption must produce for ``table``: the legacy rows, timestamps normalised, columns the
    stage lacked at their legacy defaults, duplicates and orphans gone."""
    rows = read_table(legacy_copy, table)
    if table == "wanted_items":
        rows = [r for r in rows if r["id"] not in db.duplicate_ids]
    if table in ("series_language_profiles", "movie_language_profiles"):
        profiles = {r["id"] for r in read_table(legacy_copy, "language_profiles")}
        rows = [r for r in rows if r["profile_id"] in profiles]
    result = []
    for row in rows:
        fixed = {k: (normalise(v) if is_timestamp_column(k) and isinstance(v, str) else v) for k, v in row.items()}
        result.append(fixed)
    return result


def adopted_rows(path: Path, table: str) -> list[dict]:
    return read_table(path, table)


def by_key(rows: list[dict], table: str) -> dict:
    key = PRIMARY_KEYS.get(table, "id")
    return {r[key]: r for r in rows}


@pytest.fixture
def legacy_path(tmp_path: Path) -> Path:
    return tmp_path / "sublarr.db"


@pytest.mark.parametrize(("stage", "created"), STAGES, ids=[f"stage{s}-created{c}" for s, c in STAGES])
def test_adopt_every_stage_keeps_every_row(legacy_path: Path, tmp_path: Path, stage: int, created: int) -> None:
    db = make_legacy_db(legacy_path, stage, created, rows=15, wanted=80, mixed_timestamps=True, duplicates=7,
                        orphans=3, sql_default_rows=True)
    original = tmp_path / "original.db"
    sqlite3.connect(legacy_path).backup(sqlite3.connect(original))
    legacy_columns = {t: columns_of(sqlite3.connect(original), t) for t in db.counts}

    kernel = boot(f"sqlite:///{legacy_path}", auto_migrate=False)
    try:
        report = adopt(kernel)
    finally:
        kernel.close()

    # the copy beside the file is the legacy database, unchanged
    backup = Path(report.backup)
    assert backup.parent == legacy_path.parent
    assert backup.name.startswith("sublarr.pre-adopt-") and backup.name.endswith("Z.db")
    assert fingerprint(backup) == fingerprint(original)
    # the counts: the same, minus exactly the documented merges
    expected_counts = db.expected_counts()
    assert {t: report.rows_after[t] for t in db.counts} == expected_counts
    assert report.rows_before == db.counts
    assert report.merged == {"wanted_items": len(db.duplicate_ids)}
    assert report.orphans_removed == {"series_language_profiles": 3, "movie_language_profiles": 3}
    assert sum(report.timestamps_normalised.values()) > 0
    missing_tables = sorted(set(LEGACY_TABLES) - set(db.counts))
    assert sorted(report.tables_created) == missing_tables
    assert integrity(legacy_path) == "ok"

    # every row of every legacy table, column by column
    for table in db.counts:
        want = by_key(expected_rows(db, original, table), table)
        got = by_key(adopted_rows(legacy_path, table), table)
        assert sorted(got) == sorted(want), table
        for key, row in want.items():
            adopted = got[key]
            for column, value in row.items():
                assert adopted[column] == value, (table, key, column)
            for column in set(adopted) - set(legacy_columns[table]):
                if (table, column) in LEGACY_DEFAULTS:
                    assert adopted[column] == LEGACY_DEFAULTS[(table, column)], (table, key, column)
    # timestamps are in the kernel's single format now
    for table in db.counts:
        for row in adopted_rows(legacy_path, table):
            for column, value in row.items():
                if is_timestamp_column(column) and value:
                    assert value == normalise(value) and len(value) == 26, (table, column, value)

    # the schema is at head for every domain, and the file works as a sublarr database
    kernel = boot(f"sqlite:///{legacy_path}")
    try:
        assert not kernel.migrator.pending()
        assert tables_of(legacy_path) >= set(LEGACY_TABLES)
        _check_domain_functions(kernel, db, original, stage, created)
    finally:
        kernel.close()


def _check_domain_functions(kernel, db: LegacyDb, original: Path, stage: int, created: int) -> None:
    """The domain functions return what the legacy functions returned (timestamps normalised)."""
    from sublarr.plugins import blacklist, config, jobs, profiles, wanted

    legacy_wanted = by_key(expected_rows(db, original, "wanted_items"), "wanted_items")
    for item_id, row in list(legacy_wanted.items())[:25]:
        expected = dict(row)
        expected["missing_languages"] = json.loads(row["missing_languages"])
        for column in ("subtitle_type", "target_language", "standalone_series_id", "standalone_movie_id"):
            if column not in expected:
                expected[column] = LEGACY_DEFAULTS[("wanted_items", column)]
        if expected.get("target_language") is None:
            expected["target_language"] = ""
        got = wanted.get_wanted_item(item_id)
        assert {k: got[k] for k in expected} == expected
    assert wanted.get_wanted_count() == db.expected_counts()["wanted_items"]
    # a merged duplicate is gone; its lowest-id twin answers for its identity
    for dup in db.duplicate_ids:
        assert wanted.get_wanted_item(dup) is None

    assert config.get_all_config_entries() == {r["key"]: r["value"] for r in read_table(original, "config_entries")}
    for row in read_table(original, "blacklist_entries"):
        assert blacklist.is_blacklisted(row["provider_name"], row["subtitle_id"])
    assert blacklist.get_blacklist_count() == db.counts["blacklist_entries"]

    for row in read_table(original, "language_profiles"):
        got = profiles.get_language_profile(row["id"])
        assert got["name"] == row["name"]
        assert got["target_languages"] == json.loads(row["target_languages_json"])
        assert got["is_default"] is bool(row["is_default"])
        assert got["created_at"] == normalise(row["created_at"])
        if stage >= 16:
            assert got["forced_preference"] == row["forced_preference"]
        else:
            assert got["forced_preference"] == "disabled"
    assignments = {r["sonarr_series_id"]: r["profile_id"]
                   for r in expected_rows(db, original, "series_language_profiles")}
    assert profiles.get_series_profile_assignments() == assignments

    for row in read_table(original, "jobs")[:10]:
        got = jobs.get_job(row["id"])
        assert got["file_path"] == row["file_path"]
        assert got["stats"] == json.loads(row["stats_json"])
        assert got["force"] is bool(row["force"])
        assert got["created_at"] == normalise(row["created_at"])
        assert got["config_hash"] == row.get("config_hash", "")


def test_adopt_carries_autoincrement_counters_and_unknown_tables(legacy_path: Path) -> None:
    make_legacy_db(legacy_path, rows=5, wanted=10)
    conn = sqlite3.connect(legacy_path)
    conn.execute("UPDATE sqlite_sequence SET seq = 5000 WHERE name = 'wanted_items'")
    conn.execute("CREATE TABLE my_notes (id INTEGER PRIMARY KEY, note TEXT)")
    conn.execute("CREATE INDEX my_notes_note ON my_notes(note)")
    conn.executemany("INSERT INTO my_notes (note) VALUES (?)", [("a",), ("b",)])
    conn.commit()
    conn.close()

    kernel = boot(f"sqlite:///{legacy_path}", auto_migrate=False)
    try:
        report = adopt(kernel)
        assert report.unknown_tables == ["my_notes"]
        from sublarr.plugins import wanted

        new_id = wanted.upsert_wanted_item("movie", "/media/movies/new.mkv")
        assert new_id == 5001  # ids handed out by the legacy layer are never reused
    finally:
        kernel.close()
    assert read_table(legacy_path, "my_notes") == [{"id": 1, "note": "a"}, {"id": 2, "note": "b"}]


def test_boot_adopts_a_legacy_file_once(legacy_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = make_legacy_db(legacy_path, 12, 12, rows=5, wanted=20, duplicates=2)
    with caplog.at_level("WARNING", logger="sublarr.adopt"):
        kernel = boot(f"sqlite:///{legacy_path}")
    try:
        assert not kernel.migrator.pending()
        assert any("pre-adopt" in r.getMessage() for r in caplog.records)
        from sublarr.plugins import wanted

        assert wanted.get_wanted_count() == db.expected_counts()["wanted_items"]
    finally:
        kernel.close()
    backups = list(legacy_path.parent.glob("sublarr.pre-adopt-*.db"))
    assert len(backups) == 1
    kernel = boot(f"sqlite:///{legacy_path}")  # second boot: nothing to adopt
    try:
        assert adopt_if_legacy(kernel) is None
    finally:
        kernel.close()
    assert len(list(legacy_path.parent.glob("sublarr.pre-adopt-*.db"))) == 1


def test_upgrade_refuses_a_legacy_database(legacy_path: Path) -> None:
    make_legacy_db(legacy_path, rows=2, wanted=2)
    before = fingerprint(legacy_path)
    kernel = boot(f"sqlite:///{legacy_path}", auto_migrate=False)
    try:
        with pytest.raises(MigrationError, match="legacy Sublarr database.*sublarr db adopt"):
            kernel.migrator.upgrade()
    finally:
        kernel.close()
    assert fingerprint(legacy_path) == before


def test_adopt_refuses_what_is_not_legacy(database_url: str, storage: str, tmp_path: Path) -> None:
    kernel = boot(database_url)
    try:
        with pytest.raises(NotLegacy):
            adopt(kernel)
    finally:
        kernel.close()


def test_adopt_refuses_a_legacy_table_no_plugin_owns(legacy_path: Path) -> None:
    make_legacy_db(legacy_path, rows=2, wanted=2)
    before = fingerprint(legacy_path)
    kernel = boot(f"sqlite:///{legacy_path}", auto_migrate=False, plugins_disabled=["whisper"])
    try:
        with pytest.raises(AdoptionError, match="whisper_jobs"):
            adopt(kernel)
    finally:
        kernel.close()
    assert fingerprint(legacy_path) == before
    assert not list(legacy_path.parent.glob("*pre-adopt*"))


def test_adopt_refuses_a_file_another_process_holds_open(legacy_path: Path) -> None:
    make_legacy_db(legacy_path, rows=3, wanted=5)
    before = fingerprint(legacy_path)
    other = sqlite3.connect(legacy_path)  # e.g. the legacy Sublarr still running
    other.execute("SELECT count(*) FROM wanted_items").fetchone()
    kernel = boot(f"sqlite:///{legacy_path}", auto_migrate=False, db_busy_timeout_ms=1000)
    try:
        with pytest.raises(DatabaseBusy, match="open in another process"):
            adopt(kernel)
    finally:
        kernel.close()
        other.close()
    assert fingerprint(legacy_path) == before
    assert "alembic_version_wanted" not in tables_of(legacy_path)
    assert sorted(p.name for p in legacy_path.parent.iterdir()) == ["sublarr.db", "sublarr.db.migrate.lock"]


def test_cli_adopt(legacy_path: Path, tmp_path: Path) -> None:
    from sublarr.cli import cli
    from sublarr.cli.data import register
    from sublarr.cli.db import db

    register(db)
    make_legacy_db(legacy_path, 3, 0, rows=4, wanted=12, duplicates=2, orphans=1, mixed_timestamps=True)
    settings = settings_file(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["--settings", str(settings), "db", "adopt", str(legacy_path)])
    assert result.exit_code == 0, result.output
    assert "adopted legacy database" in result.stdout
    assert "pre-adopt-" in result.stdout
    assert "wanted_items: 2 duplicate rows merged" in result.stdout
    assert "columns added with their legacy defaults: " in result.stdout
    assert "[8/8] replaced" in result.stderr
    again = runner.invoke(cli, ["--settings", str(settings), "db", "adopt", str(legacy_path)])
    assert again.exit_code != 0
    assert "not a legacy Sublarr database" in str(again.exception)


KILL_AT_STEP = """
import os, signal, sys
from sublarr import Kernel
from sublarr.core.adopt import adopt
path, step = sys.argv[1], sys.argv[2]
kernel = Kernel.boot(database_url="sqlite:///" + path, settings_files=[], entry_points=False,
                     auto_migrate=False, redis_url="")
def on_step(name):
    print(name, flush=True)
    if name == step:
        os.kill(os.getpid(), signal.SIGKILL)
adopt(kernel, on_step=on_step)
print("done", flush=True)
"""


def _legacy_or_adopted(path: Path, original: dict, expected_counts: dict) -> str:
    """Assert ``path`` is the untouched legacy database or the completely adopted one; say which."""
    assert integrity(path) == "ok"
    if not any(t.startswith("alembic_version") for t in tables_of(path)):
        assert fingerprint(path) == original
        return "legacy"
    counts = {t: n for t, (n, _digest) in fingerprint(path).items()}
    assert {t: counts[t] for t in expected_counts} == expected_counts
    kernel = boot(f"sqlite:///{path}", auto_migrate=False)
    try:
        assert not kernel.migrator.pending()
    finally:
        kernel.close()
    return "adopted"


@pytest.mark.slow
def test_adoption_killed_at_every_step_leaves_legacy_or_adopted(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    db = make_legacy_db(template, 12, 0, rows=20, wanted=400, duplicates=5, orphans=2, mixed_timestamps=True)
    original = fingerprint(template)
    for step in STEPS:
        path = tmp_path / step / "sublarr.db"
        path.parent.mkdir()
        sqlite3.connect(template).backup(sqlite3.connect(path))
        done = run_python(KILL_AT_STEP, str(path), step)
        assert done.returncode == -9, done.stderr
        state = _legacy_or_adopted(path, original, db.expected_counts())
        assert state == ("adopted" if step == "replaced" else "legacy"), step
        # the next attempt (e.g. the next boot) finishes the job and clears what the killed one left
        kernel = boot(f"sqlite:///{path}")
        kernel.close()
        assert _legacy_or_adopted(path, original, db.expected_counts()) == "adopted"
        leftovers = sorted(p.name for p in path.parent.iterdir()
                           if p.name not in ("sublarr.db", "sublarr.db.migrate.lock"))
        assert all(n.startswith("sublarr.pre-adopt-") and n.endswith(".db") for n in leftovers), leftovers


@pytest.mark.slow
def test_adoption_killed_at_random_moments(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    db = make_legacy_db(template, rows=200, wanted=20_000, duplicates=20, orphans=5, mixed_timestamps=True)
    original = fingerprint(template)
    seen = set()
    for i, delay in enumerate((0.4, 0.9, 1.4, 1.9, 2.6, 3.5)):
        path = tmp_path / f"run{i}" / "sublarr.db"
        path.parent.mkdir()
        sqlite3.connect(template).backup(sqlite3.connect(path))
        process = start_python(KILL_AT_STEP, str(path), "never")
        time.sleep(delay)
        process.kill()
        process.communicate()
        seen.add(_legacy_or_adopted(path, original, db.expected_counts()))
    assert "legacy" in seen  # at least one kill landed mid-adoption


BOOT_AND_COUNT = """
import sys
from sublarr import Kernel
kernel = Kernel.boot(database_url="sqlite:///" + sys.argv[1], settings_files=[], entry_points=False, redis_url="")
from sublarr.plugins import wanted
print(wanted.get_wanted_count(), flush=True)
kernel.close()
"""


@pytest.mark.slow
def test_processes_booting_together_adopt_once(legacy_path: Path) -> None:
    db = make_legacy_db(legacy_path, rows=20, wanted=3000, duplicates=4, mixed_timestamps=True)
    processes = [start_python(BOOT_AND_COUNT, str(legacy_path)) for _ in range(3)]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert out.strip() == str(db.expected_counts()["wanted_items"])
    assert len(list(legacy_path.parent.glob("sublarr.pre-adopt-*.db"))) == 1
    assert integrity(legacy_path) == "ok"
