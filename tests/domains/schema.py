"""Schema inspection shared by the domain tests: compare our migrations with the legacy DDL.

The legacy DDL itself comes from one place, :mod:`tests.data.legacy` (the final legacy release's
``SCHEMA``, its indexes and its ``ALTER TABLE`` columns, in physical column order).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import Engine

from sublarr.core.models import Base
from sublarr.drivers.mariadb import LOOKUP_SUFFIX, hash_column
from tests.conftest import boot
from tests.data.legacy import legacy_ddl


def describe(url: str, table: str, *, strip_casts: bool = False) -> dict:
    """Columns (order, type, nullability, default), keys, foreign keys and named indexes of a table.

    ``strip_casts`` drops PostgreSQL's ``::text`` from defaults, to compare a PostgreSQL table with
    a SQLite one.
    """
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        insp = reflect(engine)
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


# -- reflection on every engine -------------------------------------------------------------------

def is_mariadb(engine: Engine) -> bool:
    return engine.dialect.name in ("mariadb", "mysql")


def type_name(engine: Engine, type_: Any) -> str:
    """How ``engine``'s storage driver spells ``type_`` (``Real()``: REAL, DOUBLE PRECISION, DOUBLE)."""
    return str(type_.compile(dialect=engine.dialect))


class Reflected:
    """SQLAlchemy's inspector, with MariaDB's way of showing our keys put back into keys.

    On MariaDB a key over text is a unique key over an invisible stored column holding the hash of
    its columns (:func:`sublarr.drivers.mariadb.hash_column`), with a prefix index ``<name>_lookup``
    beside it, and a text primary key is such a unique key named like the primary key (InnoDB's own
    row id is the clustered key); reflection shows every unique key also as an index, and truncates
    expression defaults. Here: the hash column is not listed, a key over it is a key over the
    columns it hashes, the primary key is the hash key that stands for it, a unique key is a constraint or an index as the model declares it, lookup
    indexes beside a unique key are not listed, and defaults are read whole from
    ``information_schema``. Other engines: as reflected.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.inspector = inspect(engine)
        self.mariadb = is_mariadb(engine)

    def __getattr__(self, name: str):
        return getattr(self.inspector, name)

    def _hash_keys(self, table: str) -> dict[str, list[str]]:
        return {name: columns for (_t, name), columns in _hash_keys(self.inspector, [table]).items()}

    def _keys_over_columns(self, table: str, found: list[dict]) -> list[dict]:
        """Each key over an invisible hash column as a key over the columns it hashes."""
        keys = self._hash_keys(table)
        return [{**k, "column_names": keys[k["name"]]} if k["name"] in keys else k for k in found]

    def _hash_primary_key(self, table: str) -> dict | None:
        model = Base.metadata.tables.get(table)
        name = model.primary_key.name if model is not None else None
        for index in self._keys_over_columns(table, self.inspector.get_indexes(table)):
            if index["unique"] and name and index["name"] == name:
                return index
        return None

    def get_pk_constraint(self, table: str) -> dict:
        found = self.inspector.get_pk_constraint(table)
        if self.mariadb and not found["constrained_columns"]:
            key = self._hash_primary_key(table)
            if key is not None:
                return {"name": key["name"], "constrained_columns": key["column_names"]}
        return found

    def _key_names(self, table: str) -> set[str]:
        return {i["name"] for i in self.inspector.get_indexes(table) if i["unique"]}

    @staticmethod
    def _unique_indexes(table: str) -> set[str]:
        """The unique keys the models declare as unique *indexes* (the rest are constraints)."""
        model = Base.metadata.tables.get(table)
        return {i.name for i in model.indexes if i.unique} if model is not None else set()

    def get_unique_constraints(self, table: str) -> list[dict]:
        found = self.inspector.get_unique_constraints(table)
        if not self.mariadb:
            return found
        found = self._keys_over_columns(table, found)
        pk = self._hash_primary_key(table)
        indexes = self._unique_indexes(table)
        return [u for u in found if (pk is None or u["name"] != pk["name"]) and u["name"] not in indexes]

    def get_indexes(self, table: str) -> list[dict]:
        found = self.inspector.get_indexes(table)
        if not self.mariadb:
            return found
        found = self._keys_over_columns(table, found)
        keys, indexes = self._key_names(table), self._unique_indexes(table)
        return [{k: v for k, v in i.items() if k != "duplicates_constraint"} for i in found
                if (not i["unique"] or i["name"] in indexes)
                and not (i["name"].endswith(LOOKUP_SUFFIX) and i["name"][:-len(LOOKUP_SUFFIX)] in keys)]

    def get_columns(self, table: str) -> list[dict]:
        found = self.inspector.get_columns(table)
        if not self.mariadb:
            return found
        hashes = {hash_column(name) for name in self._hash_keys(table)}
        found = [c for c in found if c["name"] not in hashes]
        with self.engine.connect() as conn:
            defaults = dict(conn.execute(text(
                "SELECT COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = :t"), {"t": table}).all())
        columns = []
        for column in found:
            default = defaults.get(column["name"])
            if default == "NULL":
                default = None
            elif default is not None and type(column["type"]).__name__ == "DOUBLE":
                default = repr(float(default))  # the server keeps the value (0), not the literal (0.0)
            columns.append({**column, "default": default})
        return columns


def reflect(engine: Engine) -> Reflected:
    return Reflected(engine)


def _normalised_default(value: str | None) -> str | None:
    """A MariaDB default as written in the model or as the server shows it, in one spelling."""
    if value is None:
        return None
    # the server adds the connection's character set to a CAST: "as char charset utf8mb4 binary"
    value = re.sub(r"\s+charset\s+\w+(\s+binary)?", "", value.lower())
    value = "".join(value.split())
    while value.startswith("(") and value.endswith(")"):
        value = value[1:-1]
    if value == "null":
        return None
    try:
        return repr(float(value.strip("'")))
    except ValueError:
        return value


def _mariadb_default_differs(context, inspected_column, metadata_column, inspected_default, metadata_default,
                             rendered_metadata_default):
    """Alembic's server-default comparison on MariaDB: SQLAlchemy's reflection truncates expression
    defaults there, so the stored default is read whole from information_schema and both sides are
    compared in one spelling. Other engines: Alembic's own comparison."""
    if not is_mariadb(context.bind):
        return None
    stored = context.bind.execute(text(
        "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = :t AND COLUMN_NAME = :c"), {"t": metadata_column.table.name, "c": metadata_column.name}).scalar()
    return _normalised_default(stored) != _normalised_default(rendered_metadata_default)


def _hash_keys(insp, names: Iterable[str]) -> dict[tuple[str, str], list[str]]:
    """MariaDB keys over text: ``{(table, key): [its columns]}``; the key itself is over an invisible
    hash column (:func:`sublarr.drivers.mariadb.hash_column`), its lookup index over the columns."""
    keys = {}
    for table in names:
        indexes = {i["name"]: i for i in insp.get_indexes(table)}
        for name, index in indexes.items():
            lookup = indexes.get(name + LOOKUP_SUFFIX)
            if index["unique"] and index["column_names"] == [hash_column(name)] and lookup is not None:
                keys[(table, name)] = lookup["column_names"]
    return keys


def _without_engine_artefacts(diffs: list, models: MetaData, keys: dict[tuple[str, str], list[str]]) -> list:
    """The differences Alembic reports on MariaDB that are how the driver builds a key over text, not
    drift: the invisible hash column, the unique key over it (reported removed, the model's key over
    the text columns reported added), the lookup index beside it, and such a key standing for a text
    primary key. Each key must still be over the columns the model names."""
    hash_columns = {(table, hash_column(name)) for table, name in keys}
    found = {}  # (table, key) -> columns, for keys reported removed
    kept = []
    for diff in diffs:
        kind = diff[0] if isinstance(diff, tuple) else None
        if kind == "remove_column" and (diff[2], diff[3].name) in hash_columns:
            continue
        if kind in ("remove_index", "remove_constraint"):
            element = diff[1]
            table = element.table.name
            if (table, element.name) in keys and [c.name for c in element.columns] == [hash_column(element.name)]:
                found[(table, element.name)] = keys[(table, element.name)]
                continue
            if kind == "remove_index" and element.name.endswith(LOOKUP_SUFFIX) and \
                    (table, element.name[:-len(LOOKUP_SUFFIX)]) in keys:
                continue
        kept.append(diff)
    result = []
    for diff in kept:
        kind = diff[0] if isinstance(diff, tuple) else None
        if kind in ("add_index", "add_constraint"):
            element = diff[1]
            columns = [c.name for c in element.columns]
            # a key named by the naming convention only has no name in the model's metadata yet
            match = [k for k, cols in found.items() if k[0] == element.table.name and cols == columns
                     and (k[1] == element.name or not isinstance(element.name, str) or not element.name)]
            if match:
                del found[match[0]]
                continue
        result.append(diff)
    for (table, name), columns in found.items():  # a key the model has no index for: its primary key
        model = models.tables[table]
        if not (name == model.primary_key.name and columns == [c.name for c in model.primary_key.columns]):
            result.append(("remove_index", table, name, columns))
    return result


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
            "compare_type": True,
            "compare_server_default": _mariadb_default_differs if server_defaults else False,
            "include_name": lambda name, kind, _parent: kind != "table" or name in names})
        diffs = compare_metadata(context, models)
        if not is_mariadb(conn.engine):
            return diffs
        return _without_engine_artefacts(diffs, models, _hash_keys(inspect(conn), names))


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
