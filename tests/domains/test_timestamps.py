"""Short text columns that order, count or group a list are indexed whole on every engine.

wanted_0005, blacklist_0003, jobs_0004 and providers_0004 made the timestamps that order pages a
``sublarr.core.schema.Timestamp``, wanted_0006 made the wanted status and item type a ``ShortText``:
MariaDB indexed a prefix of the LONGTEXT they were, and a prefix cannot order a page (every page
sorted all the rows) nor answer a count or a group alone (tests/domains/test_wanted.py reads the plans).
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from sublarr.core.models import metadata
from sublarr.core.schema import ShortText, Timestamp

SHORT = [("wanted_items", "added_at", Timestamp), ("blacklist_entries", "added_at", Timestamp),
         ("jobs", "created_at", Timestamp), ("subtitle_downloads", "downloaded_at", Timestamp),
         ("wanted_items", "status", ShortText), ("wanted_items", "item_type", ShortText)]


@pytest.mark.parametrize(("table", "column", "kind"), SHORT)
def test_short_columns_that_order_or_count_lists_are_indexed_whole(kernel, table, column, kind):
    declared = metadata.tables[table]
    assert type(declared.c[column].type) is kind
    wanted = {index.name for index in declared.indexes if column in index.columns}
    assert wanted and wanted <= {index["name"] for index in inspect(kernel.engine).get_indexes(table)}
    if kernel.engine.dialect.name in ("mariadb", "mysql"):  # the one engine here that keys text by a prefix
        with kernel.engine.connect() as conn:
            spelled, length = conn.execute(text(
                "SELECT DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c"),
                {"t": table, "c": column}).one()
            prefixes = conn.execute(text(
                "SELECT INDEX_NAME, SUB_PART FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND COLUMN_NAME = :c"),
                {"t": table, "c": column}).all()
        assert (spelled, length) == ("varchar", kind.max_chars)
        assert {name for name, _ in prefixes} >= wanted and all(part is None for _, part in prefixes)
