"""Schema inspection shared by the domain tests: compare our migrations with the legacy DDL."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from tests.conftest import boot


def describe(url: str, table: str) -> dict:
    """Columns (order, type, nullability, default), keys, foreign keys and named indexes of a table."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg2://"))
    try:
        insp = inspect(engine)
        pk = insp.get_pk_constraint(table)["constrained_columns"]
        return {
            # a legacy SQLite PK column reports nullable; ours is NOT NULL: compare as "not nullable"
            "columns": [(c["name"], str(c["type"]), c["nullable"] and c["name"] not in pk, c["default"])
                        for c in insp.get_columns(table)],
            "pk": pk,
            "unique": sorted(u["column_names"] for u in insp.get_unique_constraints(table)),
            "fks": [(fk["constrained_columns"], fk["referred_table"], fk["referred_columns"],
                     (fk.get("options") or {}).get("ondelete")) for fk in insp.get_foreign_keys(table)],
            "indexes": sorted((i["name"], i["column_names"], bool(i["unique"])) for i in insp.get_indexes(table)
                              if not i["name"].startswith("sqlite_autoindex")),
        }
    finally:
        engine.dispose()


def run_ddl(url: str, ddl: str) -> None:
    """Execute a ``;``-separated DDL script (the legacy SCHEMA) on a database."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in ddl.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
    engine.dispose()


def at_revision(url: str, domain: str, revision: str):
    """A kernel on ``url`` with ``domain`` migrated to ``revision`` (nothing else migrated)."""
    kernel = boot(url, auto_migrate=False)
    kernel.migrator.upgrade(domain=domain, revision=revision)
    return kernel
