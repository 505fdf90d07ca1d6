"""The reads of `sublarr status` in one statement each (schema versions, row counts), on every engine:
the same answers as table-by-table reads, and table-by-table again when one table cannot be read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError


def _rename(kernel, old: str, new: str) -> None:
    quote = kernel.engine.dialect.identifier_preparer.quote
    with kernel.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}"))


def test_row_counts_match_table_by_table_counts(kernel):
    tables = [t for d in kernel.domains.values() for t in d.tables]
    with kernel.engine.connect() as conn:
        # a row of our own, so that the counts are not all the same number
        config = next(t for t in tables if t.name == "config_entries")
        conn.execute(config.insert().values(key="status-reads", value="x", updated_at="2026-01-01T00:00:00"))
        conn.commit()
        expected = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}
    assert expected["config_entries"] >= 1
    assert kernel.row_counts() == expected


def test_a_table_that_cannot_be_read_still_yields_the_other_counts(kernel):
    before = kernel.row_counts()
    assert all(n >= 0 for n in before.values())
    _rename(kernel, "config_entries", "config_entries_gone")  # in the metadata, no longer in the database
    after = kernel.row_counts()
    assert after["config_entries"] == -1
    assert {k: v for k, v in after.items() if k != "config_entries"} == \
        {k: v for k, v in before.items() if k != "config_entries"}


def test_schema_versions_match_table_by_table_reads(kernel):
    migrator = kernel.migrator
    current = migrator.current()
    assert set(current) == {d.name for d in migrator.domains}
    quote = kernel.engine.dialect.identifier_preparer.quote
    with kernel.engine.connect() as conn:
        for domain in migrator.domains:
            rows = sorted(conn.execute(text(f"SELECT version_num FROM {quote(domain.version_table)}")).scalars())
            assert current[domain.name] == (rows[0] if rows else None)
    assert all(current.values())  # booted: every domain at a revision
    # a domain whose version table is missing reads as None, the others as they were
    victim = migrator.domains[-1]
    _rename(kernel, victim.version_table, victim.version_table + "_gone")
    assert migrator.current() == {**current, victim.name: None}


def test_a_version_table_that_cannot_be_read_is_named_by_the_error(kernel):
    victim = kernel.migrator.domains[0]
    quote = kernel.engine.dialect.identifier_preparer.quote
    with kernel.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {quote(victim.version_table)} RENAME COLUMN version_num TO gone"))
    with pytest.raises(DBAPIError) as failed:
        kernel.migrator.current()
    # read table by table after the one statement failed: the failing statement is that table's own
    assert "UNION" not in failed.value.statement
    assert victim.version_table in failed.value.statement
