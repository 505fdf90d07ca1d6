"""Upserts for code that holds only a connection (plugins written before the storage seam).

Repositories call ``self.storage.upsert(...)`` / ``self.storage.insert_ignore(...)``: how an
upsert is spelled on an engine is the storage driver's. These functions find the driver that owns
the connection's engine and ask it; they know no engine themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from sublarr.drivers.base import storage_for


def upsert(conn: Connection, table: Table, values: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
           key: Sequence[str], update: Sequence[str] | Mapping[str, Any] | None = None):
    """``StorageDriver.upsert`` of the driver that owns ``conn``."""
    return storage_for(conn).upsert(table, values if isinstance(values, Mapping) else None, key, update)


def insert_ignore(conn: Connection, table: Table, key: Sequence[str]):
    """``StorageDriver.insert_ignore`` of the driver that owns ``conn``."""
    return storage_for(conn).insert_ignore(table, key)


def insert_for(conn: Connection, table: Table):
    """``StorageDriver.insert`` of the driver that owns ``conn``."""
    return storage_for(conn).insert(table)
