"""Schema inspection shared by the domain tests: compare our migrations with the legacy DDL.

The legacy DDL itself comes from one place, :mod:`tests.data.legacy` (the final legacy release's
``SCHEMA``, its indexes and its ``ALTER TABLE`` columns, in physical column order).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect

from sublarr.core.models import Base
from tests.conftest import boot
from tests.data.legacy import legacy_ddl


def describe(url: str, table: str, *, strip_casts: bool = False) -> dict:
    """Columns (order, type, nullability, default), keys, foreign keys and named indexes of a table.

    ``strip_casts`` drops PostgreSQL's ``::text`` from defaults, to compare a PostgreSQL table with
    a SQLite one.
    """
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        insp = inspect(engine)
        pk = insp.get_pk_constraint(table)["constrained_columns"]
        return {
            # a legacy SQLite PK column reports nullable; ours is NOT NULL: compare as "not nullable"
            "columns": [(c["name"], str(c["type"]), c["nullable"] and c["name"] not in pk,
                         c["default"].replace("::text", "") if strip_casts and c["default"] else c["default"])
                        for c in insp.get_columns(table)],
            "pk": pk,
            "unique": sorted(u["column_names"] for u in insp.get_unique_constraints(table)),
            "fks": [(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"],
                     (fk.get("options") or {}).get("ondelete")) for fk in insp.get_foreign_keys(table)],
            # named indexes only: not SQLite's autoindexes nor the index behind a PostgreSQL UNIQUE
            # constraint (that constraint is under "unique")
            "indexes": sorted((i["name"], i["column_names"], bool(i["unique"])) for i in insp.get_indexes(table)
                              if not i["name"].startswith("sqlite_autoindex") and "duplicates_constraint" not in i),
        }
    finally:
        engine.dispose()


def describe_sqlite(url: str, table: str) -> dict:
    """A SQLite table as declared, from its PRAGMAs (declared types, not SQLAlchemy's reading of them).

    Columns (name, declared type, NOT NULL, default, key position), with NOT NULL left out on key
    columns (implicit in the legacy DDL, explicit in ours); named indexes and the column lists of the
    UNIQUE / primary-key autoindexes; whether the table is AUTOINCREMENT.
    """
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        indexes = {}
        for index in conn.execute(f"PRAGMA index_list({table})"):
            key = index[1] if index[1].startswith("idx_") else f"{index[3]}:{index[2]}"
            indexes[key] = [c[2] for c in conn.execute(f"PRAGMA index_info('{index[1]}')")]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
        return {
            "columns": [(c[1], c[2], c[3] if not c[5] else None, c[4], c[5])
                        for c in conn.execute(f"PRAGMA table_info({table})")],
            "indexes": indexes,
            "autoincrement": "AUTOINCREMENT" in sql,
        }
    finally:
        conn.close()


@dataclass
class LegacyComparison:
    """Our tables and the legacy ones, described the same way: a test asserts ``ours == legacy``."""

    url: str                    # our database
    legacy_url: str             # the legacy tables (SQLite)
    ours: dict[str, dict]       # table -> description
    legacy: dict[str, dict]

    def autoincrement(self, table: str) -> bool:
        """Whether our SQLite ``table`` is AUTOINCREMENT (ids never reused), as the legacy ones were."""
        return describe_sqlite(self.url, table)["autoincrement"]


def compare_with_legacy(empty_database, tables: Iterable[str], domain: str | None = None,
                        revision: str | None = None, *, dialect: str = "sqlite",
                        describer: Callable[..., dict] = describe, **describe_args: Any) -> LegacyComparison:
    """Our ``tables`` beside the final legacy release's.

    The legacy DDL of ``tables`` (:func:`create_legacy_tables`) goes into a fresh SQLite database; ours
    is a fresh ``dialect`` database with ``domain`` migrated to ``revision``, or, without a domain,
    every domain booted to head. Both sides are described by ``describer`` (:func:`describe` with
    ``describe_args``, or :func:`describe_sqlite`).
    """
    if (domain is None) != (revision is None):
        raise ValueError("give both a domain and its revision, or neither (every domain at head)")
    tables = list(tables)
    legacy_url, url = empty_database("sqlite"), empty_database(dialect)
    create_legacy_tables(legacy_url, tables)
    (boot(url) if domain is None else at_revision(url, domain, revision)).close()
    return LegacyComparison(url, legacy_url, {t: describer(url, t, **describe_args) for t in tables},
                            {t: describer(legacy_url, t, **describe_args) for t in tables})


def model_drift(kernel, tables: Iterable[str], *, server_defaults: bool = False) -> list:
    """What Alembic's autogenerate finds between the models of ``tables`` and the kernel's migrated
    database: ``[]`` when the migrations and the models agree. Types are compared; server defaults
    too with ``server_defaults``. Only ``tables`` are compared (every one must have a model)."""
    names = set(tables)
    models = MetaData()
    for name in names:
        Base.metadata.tables[name].to_metadata(models)
    with kernel.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "compare_server_default": server_defaults,
            "include_name": lambda name, kind, _parent: kind != "table" or name in names})
        return compare_metadata(context, models)


def run_ddl(url: str, ddl: str) -> None:
    """Execute a ``;``-separated DDL script (the legacy SCHEMA) on a database."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


def create_legacy_tables(url: str, tables: Iterable[str], *statements: str) -> None:
    """``tables`` as the final legacy release created them (:func:`tests.data.legacy.legacy_ddl`: columns,
    legacy indexes, ``ALTER TABLE`` columns last), then ``statements`` (``;``-separated: legacy rows)."""
    run_ddl(url, ";".join([legacy_ddl(*tables), *statements]))


def at_revision(url: str, domain: str, revision: str):
    """A kernel on ``url`` with ``domain`` migrated to ``revision`` (nothing else migrated)."""
    kernel = boot(url, auto_migrate=False)
    kernel.migrator.upgrade(domain=domain, revision=revision)
    return kernel
