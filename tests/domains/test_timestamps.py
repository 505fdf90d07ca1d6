"""Timestamp columns that order pages are indexed whole on every engine.

wanted_0005, blacklist_0003, jobs_0004 and providers_0004 made them ``sublarr.core.schema.Timestamp``:
MariaDB indexed a prefix of the LONGTEXT they were, and a prefix cannot order a page (every page
sorted all the rows; tests/domains/test_wanted.py reads the plans).
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from sublarr.core.models import metadata
from sublarr.core.schema import Timestamp

ORDERED = [("wanted_items", "added_at"), ("blacklist_entries", "added_at"), ("jobs", "created_at"),
           ("subtitle_downloads", "downloaded_at")]


@pytest.mark.parametrize(("table", "column"), ORDERED)
def test_columns_that_order_pages_are_timestamps_indexed_whole(kernel, table, column):
    declared = metadata.tables[table]
    assert isinstance(declared.c[column].type, Timestamp)
    wanted = {index.name for index in declared.indexes if column in index.columns}
    assert wanted and wanted <= {index["name"] for index in inspect(kernel.engine).get_indexes(table)}
    if kernel.engine.dialect.name in ("mariadb", "mysql"):  # the one engine here that keys text by a prefix
        with kernel.engine.connect() as conn:
            kind, length = conn.execute(text(
                "SELECT DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c"),
                {"t": table, "c": column}).one()
            prefixes = conn.execute(text(
                "SELECT INDEX_NAME, SUB_PART FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c"),
                {"t": table, "c": column}).all()
        assert (kind, length) == ("varchar", Timestamp.max_chars)
        assert {name for name, _ in prefixes} >= wanted and all(part is None for _, part in prefixes)
