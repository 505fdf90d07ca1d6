"""MariaDB (and MySQL) storage through mysqlclient (``MySQLdb``): ``pip install 'sublarr[mariadb]'``.

URLs: ``mariadb://user:password@host/db`` (or ``mysql://``, and the ``+mysqldb`` forms). Tested
against MariaDB 10.11; MySQL 8 uses the same driver (the ``mysql`` dialect of SQLAlchemy).

What this engine does differently, and how the driver keeps the legacy behaviour:

* **Text compares case- and accent-insensitively by default** (``utf8mb4_general_ci``), with
  trailing spaces ignored (PAD SPACE). Every table is created ``utf8mb4`` with the collation
  ``utf8mb4_nopad_bin``: equality, uniqueness and ORDER BY are by code point, exactly as SQLite's
  BINARY, whatever the database's default collation is.
* **TEXT cannot be a key without a length**, and a key holds at most 3072 bytes (768 characters
  of utf8mb4). The documented input limit for indexed text is 2000 UTF-8 bytes, so: text columns
  are ``LONGTEXT``; a primary key or unique key over text is a hash-backed unique key: InnoDB's own
  unique key over an invisible stored column ``<key>_hash`` holding the SHA-256 of the key's values
  (unique on the whole value, any length), with a prefix index ``<key>_lookup`` beside it for
  lookups; plain indexes over text index a prefix. A text primary key therefore becomes such a
  unique key (InnoDB keeps its own hidden row id as the clustered key). Not MariaDB's own
  ``UNIQUE ... USING HASH``: it inserts the row before it checks for a duplicate, so concurrent
  inserts or upserts of one key deadlock (errors 1213/4060), and so does a transaction that upserts
  a row and then reads it ``FOR UPDATE`` beside another's upsert. ``SELECT *`` and an ``INSERT``
  without a column list do not see the invisible column; ``mariadb-dump`` lists the columns of such
  a table in its INSERTs.
* **``ON DUPLICATE KEY UPDATE`` assigns left to right, each expression seeing the assignments
  before it** (PostgreSQL and SQLite evaluate every expression on the old row). The driver orders
  the assignments so that an expression that reads a column runs before that column changes, so
  running averages and counters come out the same.
* **DDL is not transactional**: each statement commits. ``features.transactional_ddl`` is False;
  the migration runner records a revision it starts and reports one that never finished on the
  next boot (:mod:`sublarr.core.migrate`). ``ALTER TABLE ... AUTO_INCREMENT`` (identity reset after a
  copy) therefore runs after the copy has been verified.
* Connections run ``READ COMMITTED`` (as PostgreSQL does; InnoDB's REPEATABLE READ would take gap
  locks in upserts), strict SQL mode, UTC.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import (
    AddConstraint,
    CreateIndex,
    CreateTable,
    DropConstraint,
    DropIndex,
    PrimaryKeyConstraint,
    UniqueConstraint,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import UnaryExpression

from sublarr.core.errors import SettingsError, SublarrError
from sublarr.core.hookspecs import hookimpl
from sublarr.core.schema import ShortText, legacy_now
from sublarr.drivers.base import (
    StorageDriver,
    StorageFeatures,
    TableProgress,
    executemany_writer,
    find_tool,
    identity_columns,
    metered_stdin,
    replaced_atomically,
    run_tool,
    server_pool_options,
    switched,
    upsert_assignments,
)

if TYPE_CHECKING:
    from sublarr.core.transfer import Progress

log = logging.getLogger("sublarr.storage")

DIALECTS = ("mariadb", "mysql")
CHARSET = "utf8mb4"
COLLATION = "utf8mb4_nopad_bin"  # code point order, no trailing-space padding (= SQLite BINARY)
MAX_KEY_BYTES = 3072  # InnoDB, DYNAMIC row format
BYTES_PER_CHAR = 4
MAX_PREFIX_CHARS = MAX_KEY_BYTES // BYTES_PER_CHAR
LOOKUP_SUFFIX = "_lookup"
HASH_SUFFIX = "_hash"  # the invisible column a unique key over text is built on
SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE"

# ANALYZE TABLE after a bulk write of at least this many rows that is also this share of the table
MAINTAIN_MIN_ROWS = 1000
MAINTAIN_SHARE = 0.1

_TOOLS = ("install the MariaDB client tools (Debian/Ubuntu: apt-get install mariadb-client) to back up or "
          "restore a MariaDB/MySQL database")


# -- DDL: what the schema's types and keys become on this engine ----------------------------------

def _for_dialects(element: type) -> Callable:
    def register(fn: Callable) -> Callable:
        for name in DIALECTS:
            compiles(element, name)(fn)
        return fn
    return register


@_for_dialects(sa.Text)
def _text(element, compiler, **kw):
    return "LONGTEXT"  # the legacy TEXT is unbounded (SQLite: 1 GB); MariaDB's TEXT stops at 64 KiB


@_for_dialects(ShortText)
def _short_text(element, compiler, **kw):
    return f"VARCHAR({element.max_chars})"  # indexed whole (no prefix): an index orders and counts it


@_for_dialects(sa.Float)
def _float(element, compiler, **kw):
    # a plain Float is 8 bytes on SQLite (REAL) and PostgreSQL (FLOAT = double precision); MariaDB's
    # FLOAT is 4 bytes and would round what the other engines keep
    if getattr(element, "precision", None) is None:
        return "DOUBLE"
    return compiler.visit_float(element, **kw)


@_for_dialects(legacy_now)
def _legacy_now(element, compiler, **kw):
    return "(CAST(UTC_TIMESTAMP() AS CHAR))"  # 'YYYY-MM-DD HH:MM:SS', as datetime('now')


@_for_dialects(UnaryExpression)
def _nulls_order(element, compiler, **kw):
    # MariaDB has no NULLS FIRST / NULLS LAST (NULLs sort first ascending, last descending): order by
    # "IS NULL" first, so x.desc().nulls_last() sorts as on PostgreSQL and SQLite
    if element.modifier not in (operators.nulls_first_op, operators.nulls_last_op):
        return compiler.visit_unary(element, **kw)
    inner = element.element
    value = inner.element if getattr(inner, "modifier", None) in (operators.asc_op, operators.desc_op) else inner
    direction = "DESC" if element.modifier is operators.nulls_first_op else "ASC"
    return f"({compiler.process(value, **kw)} IS NULL) {direction}, {compiler.process(inner, **kw)}"


def _is_text(column: sa.Column) -> bool:
    """Unbounded text (LONGTEXT here): a key over it needs a prefix length (or a hash)."""
    kind = column.type
    if isinstance(kind, ShortText):
        return False  # VARCHAR(max_chars): indexed whole
    impl = getattr(kind, "impl", None)  # TypeDecorator
    return isinstance(kind, sa.Text) or isinstance(impl, sa.Text) or (isinstance(impl, type) and issubclass(impl, sa.Text))


def _key_bytes(column: sa.Column) -> int:
    """The most bytes a column that is not unbounded text takes in a key."""
    kind = column.type
    if isinstance(kind, ShortText):
        return kind.max_chars * BYTES_PER_CHAR
    if isinstance(kind, sa.String) and kind.length:  # a VARCHAR read from the live table
        return kind.length * BYTES_PER_CHAR
    return 8


def _prefixes(columns: Sequence[sa.Column]) -> dict[str, int]:
    """Prefix lengths (characters) for the text columns of a key, so the key fits MAX_KEY_BYTES."""
    texts = [c for c in columns if _is_text(c)]
    if not texts:
        return {}
    room = MAX_KEY_BYTES - sum(_key_bytes(c) for c in columns if not _is_text(c))
    length = min(MAX_PREFIX_CHARS, room // (BYTES_PER_CHAR * len(texts)))
    return {c.name: length for c in texts}


def _key_columns(compiler, columns: Sequence[sa.Column], prefixes: Mapping[str, int]) -> str:
    quote = compiler.preparer.quote
    return ", ".join(f"{quote(c.name)}({prefixes[c.name]})" if c.name in prefixes else quote(c.name)
                     for c in columns)


def hash_column(key: str) -> str:
    """The name of the hidden column that holds the hash of key ``key``'s columns."""
    name = key + HASH_SUFFIX
    if len(name) > 64:  # MariaDB's identifier limit
        import hashlib

        name = f"{key[:40]}_{hashlib.sha1(key.encode()).hexdigest()[:12]}{HASH_SUFFIX}"
    return name


def _hash_expression(compiler, columns: Sequence[sa.Column]) -> str:
    """SHA-256 of the key's values: one column as it is, several each with its byte length in front
    (unambiguous); NULL when a value is NULL (so NULLs never collide, as in any unique key)."""
    quote = compiler.preparer.quote
    if len(columns) == 1:
        value = quote(columns[0].name)
    else:
        value = "CONCAT(" + ", ".join(f"LENGTH({quote(c.name)}), ':', {quote(c.name)}" for c in columns) + ")"
    return f"UNHEX(SHA2({value}, 256))"


def _hash_unique(compiler, name: str, columns: Sequence[sa.Column], add: str = "") -> str:
    """A unique key over text of any length: InnoDB's own unique key over an invisible stored column
    holding the SHA-256 of the values, and a prefix index beside it that serves lookups.

    Not MariaDB's ``UNIQUE ... USING HASH``: that one inserts a row first and checks for the duplicate
    after, so concurrent inserts and upserts of one key deadlock (error 1213/4060) and a transaction
    that upserts a row and then reads it with ``FOR UPDATE`` waits for the other's half-inserted row.
    InnoDB checks its own unique keys before it touches the other indexes. ``add``: "ADD " in ALTER TABLE."""
    quote = compiler.preparer.quote
    column = quote(hash_column(name))
    return (f"{add}{column} BINARY(32) AS ({_hash_expression(compiler, columns)}) STORED INVISIBLE, "
            f"{add}CONSTRAINT {quote(name)} UNIQUE KEY ({column}), "
            f"{add}KEY {quote(name + LOOKUP_SUFFIX)} ({_key_columns(compiler, columns, _prefixes(columns))})")


@_for_dialects(PrimaryKeyConstraint)
@_for_dialects(UniqueConstraint)
def _key(constraint, compiler, **kw):
    """A primary or unique key over text becomes a hashed unique key (see the module doc)."""
    columns = list(constraint.columns)
    primary = isinstance(constraint, PrimaryKeyConstraint)
    if not any(_is_text(c) for c in columns):
        visit = compiler.visit_primary_key_constraint if primary else compiler.visit_unique_constraint
        return visit(constraint, **kw)
    table = constraint.table.name
    return _hash_unique(compiler, constraint.name or (f"pk_{table}" if primary else f"uq_{table}_{columns[0].name}"),
                        columns)


@_for_dialects(AddConstraint)
def _add_constraint(create, compiler, **kw):
    constraint = create.element
    columns = list(getattr(constraint, "columns", []))
    if not isinstance(constraint, (UniqueConstraint, PrimaryKeyConstraint)) or not any(_is_text(c) for c in columns):
        return compiler.visit_add_constraint(create, **kw)
    name = constraint.name or f"uq_{constraint.table.name}_{columns[0].name}"
    return f"ALTER TABLE {compiler.preparer.format_table(constraint.table)} {_hash_unique(compiler, name, columns, add='ADD ')}"


@_for_dialects(DropConstraint)
def _drop_constraint(drop, compiler, **kw):
    constraint = drop.element
    sql = compiler.visit_drop_constraint(drop, **kw)
    if not isinstance(constraint, UniqueConstraint) or not constraint.name:
        return sql
    quote = compiler.preparer.quote
    # a unique key over text has a lookup index and a hash column beside it (see _hash_unique)
    return (f"{sql}, DROP INDEX IF EXISTS {quote(constraint.name + LOOKUP_SUFFIX)}, "
            f"DROP COLUMN IF EXISTS {quote(hash_column(constraint.name))}")


@_for_dialects(CreateTable)
def _create_table(create, compiler, **kw):
    sql = compiler.visit_create_table(create, **kw).rstrip()
    if "CHARSET" not in sql.upper().rsplit(")", 1)[-1]:
        sql += f" ENGINE=InnoDB DEFAULT CHARSET={CHARSET} COLLATE={COLLATION}"
    return sql + "\n\n"


@_for_dialects(CreateIndex)
def _create_index(create, compiler, **kw):
    index = create.element
    columns = [c for c in index.columns if isinstance(c, sa.Column)]
    if not any(_is_text(c) for c in columns) or len(columns) != len(index.expressions):
        return compiler.visit_create_index(create, **kw)
    quote = compiler.preparer.quote
    table = compiler.preparer.format_table(index.table)
    if index.unique:
        return f"ALTER TABLE {table} {_hash_unique(compiler, index.name, columns, add='ADD ')}"
    return f"CREATE INDEX {quote(index.name)} ON {table} ({_key_columns(compiler, columns, _prefixes(columns))})"


@_for_dialects(DropIndex)
def _drop_index(drop, compiler, **kw):
    index = drop.element
    quote = compiler.preparer.quote
    table = compiler.preparer.format_table(index.table)
    # a unique index over text has a lookup index and a hash column beside it (see _hash_unique)
    return (f"ALTER TABLE {table} DROP INDEX {quote(index.name)}, "
            f"DROP INDEX IF EXISTS {quote(index.name + LOOKUP_SUFFIX)}, "
            f"DROP COLUMN IF EXISTS {quote(hash_column(index.name))}")


def _learn_types(conn: Connection, index: sa.Index | sa.Constraint) -> None:
    found = {name: (str(kind).lower(), length) for name, kind, length in conn.execute(text(
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"), {"t": index.table.name})}
    for column in index.columns:
        kind, length = found.get(column.name, ("", None))
        if isinstance(column.type, sa.types.NullType):
            if kind.endswith("text"):
                column.type = sa.Text()
            elif kind in ("varchar", "char") and length:
                column.type = sa.String(int(length))  # counts its bytes in the key (_key_bytes)


# -- upserts ----------------------------------------------------------------------------------------

def _stored_columns(expression: Any, table: sa.Table) -> set[str]:
    """Names of ``table``'s columns that ``expression`` reads from the stored row."""
    if not isinstance(expression, sa.ClauseElement):
        return set()  # a plain value
    return {e.name for e in visitors.iterate(expression)
            if isinstance(e, sa.Column) and e.table is table}


def sequential_assignments(table: sa.Table, assignments: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """``assignments`` in an order where each expression runs before any column it reads is
    assigned, so MariaDB's left-to-right SET gives what the old-row semantics of ON CONFLICT give."""
    pending = dict(assignments)
    reads = {name: _stored_columns(expr, table) - {name} for name, expr in pending.items()}
    ordered: list[tuple[str, Any]] = []
    while pending:
        # a column may be assigned once no remaining expression still needs to read it
        free = [n for n in pending if not any(n in reads[other] for other in pending if other != n)]
        if not free:
            raise ValueError(f"upsert of {table.name}: the assignments of {', '.join(sorted(pending))} read each "
                             "other, which MariaDB's ON DUPLICATE KEY UPDATE cannot express")
        for name in free:
            ordered.append((name, pending.pop(name)))
    return ordered


class _Proposed:
    """``new[column]``: the value the INSERT proposed (``VALUES(column)``)."""

    def __init__(self, stmt):
        self._inserted = stmt.inserted

    def __getitem__(self, name: str):
        return self._inserted[name]

    def __getattr__(self, name: str):
        return self._inserted[name]


# -- the driver ----------------------------------------------------------------------------------

_DUPLICATE_ENTRY = re.compile(r"(?s)(Duplicate entry )'.*'( for key ')")
_QUOTED_VALUE = re.compile(r"(?s)((?:value|double|string):? )'.*'(?=(?: for column | at row | value found|$))")


class MariadbStorage(StorageDriver):
    name = "mariadb"
    schemes = ("mariadb", "mysql")
    description = "MariaDB / MySQL server (mysqlclient)"
    features = StorageFeatures(transactional_ddl=False, binary_text=True, upsert_returning=True,
                               foreign_key_index=True)
    backup_suffix = ".sql"
    insert_module = "sqlalchemy.dialects.mysql"

    @classmethod
    def normalize_url(cls, url: URL) -> URL:
        if "+" not in url.drivername:
            url = url.set(drivername=f"{url.drivername}+mysqldb")
        if "charset" not in url.query:
            url = url.update_query_dict({"charset": CHARSET})
        return url

    def create_engine(self) -> Engine:
        try:
            import MySQLdb  # noqa: F401
        except ImportError:
            raise SettingsError("database_url", "the mariadb storage driver needs mysqlclient: pip install "
                                "'sublarr[mariadb]' (it builds against libmariadb-dev or libmysqlclient-dev, "
                                "with pkg-config)") from None
        s = self.settings
        engine = create_engine(
            self.url,
            **server_pool_options(s),
            isolation_level="READ COMMITTED",
            connect_args={"connect_timeout": int(s.db_connect_timeout)},
        )

        @event.listens_for(engine, "before_execute")
        def _type_index_columns(conn, clause, multiparams, params, execution_options):
            # Alembic's op.create_index / create_unique_constraint name columns without types; the
            # keys over text need them (prefix lengths, hash column), so they are read from the live table.
            if isinstance(clause, (CreateIndex, AddConstraint)) and any(
                    isinstance(c.type, sa.types.NullType) for c in getattr(clause.element, "columns", [])):
                _learn_types(conn, clause.element)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute(f"SET SESSION sql_mode = '{SQL_MODE}', time_zone = '+00:00'")
            cur.execute(f"SET NAMES {CHARSET} COLLATE {COLLATION}")
            cur.close()

        return engine

    def check(self) -> None:
        try:
            with self.engine.connect() as conn:
                version = conn.exec_driver_sql("SELECT VERSION()").scalar() or ""
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "args", (None,))[0] == 1049:  # ER_BAD_DB_ERROR: unknown database
                raise self.missing_database() from None
            raise
        if "mariadb" in version.lower():
            major, minor = (int(p) for p in version.split(".")[:2])
            if (major, minor) < (10, 5):
                raise SublarrError(f"MariaDB {version} is too old: sublarr needs MariaDB 10.5 or newer")

    def hide_values(self, error: BaseException) -> None:
        # MariaDB quotes the value in a few messages (names are in backquotes or after "column"/"key"):
        # 1062 "Duplicate entry '<value>' for key 'name'", 1366/1292/1367 "Incorrect integer value:
        # '<value>' for column ...", "Truncated incorrect DOUBLE value: '<value>'".
        args = getattr(error, "args", ())
        if len(args) >= 2 and isinstance(args[1], str):
            message = _DUPLICATE_ENTRY.sub(r"\1'***'\2", args[1])
            message = _QUOTED_VALUE.sub(r"\1'***'", message)
            error.args = (args[0], message, *args[2:])

    def is_conflict(self, exc: BaseException) -> bool:
        # 1213: InnoDB chose this transaction as a deadlock victim and rolled all of it back
        orig = getattr(exc, "orig", exc)
        return bool(getattr(orig, "args", None)) and orig.args[0] == 1213

    # -- statements -----------------------------------------------------------------------------

    def upsert(self, table: sa.Table, values: Mapping[str, Any] | None, key: Sequence[str],
               update: Sequence[str] | Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None) -> Any:
        stmt = self.insert(table)
        if isinstance(values, Mapping):
            stmt = stmt.values(**values)
        set_ = upsert_assignments(update, values, key, _Proposed(stmt))
        if not set_:  # do nothing on a duplicate (unlike INSERT IGNORE, other errors still raise)
            first = key[0]
            return stmt.on_duplicate_key_update({first: table.c[first]})
        return stmt.on_duplicate_key_update(sequential_assignments(table, set_))

    def insert_ignore(self, table: sa.Table, key: Sequence[str]) -> Any:
        # rowcount 0 for a duplicate; values are validated by the domains before they get here
        return self.insert(table).prefix_with("IGNORE")

    # -- bulk work ------------------------------------------------------------------------------

    def bulk_writer(self, conn: Connection, table: sa.Table) -> Callable[[list[tuple]], None]:
        # MySQLdb turns an executemany INSERT into multi-row INSERT statements
        return executemany_writer(conn, table) or super().bulk_writer(conn, table)

    def foreign_keys_off(self, conn: Connection) -> contextlib.AbstractContextManager[Connection]:
        def switch(value: int) -> None:
            conn.exec_driver_sql(f"SET SESSION foreign_key_checks = {value}")
            if conn.in_transaction():
                conn.commit()

        return switched(conn, lambda: switch(0), lambda: switch(1))

    def read_counters(self, conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
        counters = {}
        for table, _column in identity_columns(tables):
            following = conn.execute(text(
                "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = :t"), {"t": table.name}).scalar()
            if following:
                counters[table.name] = int(following) - 1
        return counters

    def reset_counters(self, conn: Connection, tables: Iterable[sa.Table], floor: Mapping[str, int]) -> dict[str, int]:
        # ALTER TABLE commits the transaction it runs in: the copy calls this after verifying.
        result = {}
        preparer = conn.dialect.identifier_preparer
        for table, column in identity_columns(tables):
            value = max(int(conn.execute(sa.select(sa.func.max(column))).scalar() or 0), floor.get(table.name, 0))
            conn.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} AUTO_INCREMENT = {value + 1}")
            result[table.name] = value
        return result

    def after_bulk_write(self, table: str, rows: int) -> None:
        if rows < MAINTAIN_MIN_ROWS:
            return
        try:
            with self.engine.connect() as conn:
                known = conn.execute(text("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE "
                                          "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"), {"t": table}).scalar()
                if known is None or rows < MAINTAIN_SHARE * int(known):
                    conn.rollback()
                    return
                conn.exec_driver_sql(f"ANALYZE TABLE {conn.dialect.identifier_preparer.quote(table)}").all()
                conn.commit()
        except SQLAlchemyError as exc:  # upkeep is an optimisation: the rows are committed already
            log.warning("ANALYZE TABLE %s after a bulk write failed: %s", table, str(exc).splitlines()[0])

    # -- migrations -----------------------------------------------------------------------------

    def _lock_name(self) -> str:
        return f"sublarr_migrate_{self.url.database}"[:64]

    @contextlib.contextmanager
    def migration_lock(self, connection: Connection | None) -> Iterator[None]:
        if connection is None:
            with self.engine.connect() as own, self.migration_lock(own):
                yield
            return
        got = connection.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": self._lock_name(), "t": 600}).scalar()
        connection.commit()
        if got != 1:
            raise SublarrError("timed out after 600 s waiting for another process's migration of "
                               f"{self.url.database}")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                connection.rollback()
            connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": self._lock_name()})
            connection.commit()

    # -- backup: mariadb-dump / mariadb ---------------------------------------------------------

    def _tool(self, *names: str) -> str:
        from sublarr.core.backup import BackupError

        for name in names:
            with contextlib.suppress(BackupError):
                return find_tool(name, _TOOLS)
        return find_tool(names[0], _TOOLS)

    def backup_tools(self) -> str | None:
        from sublarr.core.backup import BackupError

        try:
            self._tool("mariadb-dump", "mysqldump")
            self._tool("mariadb", "mysql")
        except BackupError as exc:
            return str(exc)
        return None

    def _client_args(self) -> list[str]:
        url = self.url
        args = [f"--host={url.host or 'localhost'}", f"--default-character-set={CHARSET}"]
        if url.port:
            args.append(f"--port={url.port}")
        if url.username:
            args.append(f"--user={url.username}")
        socket = url.query.get("unix_socket")
        if socket:
            args.append(f"--socket={socket if isinstance(socket, str) else socket[-1]}")
        return args

    def _client_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("MYSQL_PWD", "MYSQL_HOST", "MYSQL_TCP_PORT")}
        if self.url.password is not None:
            env["MYSQL_PWD"] = str(self.url.password)  # never on the command line
        return env

    def backup(self, target: Path, progress: Progress | None = None) -> tuple[dict[str, str | None], dict[str, int]]:
        """``mariadb-dump --single-transaction``: one consistent snapshot while the service keeps
        writing. The tool cannot share its snapshot, so what the manifest says is read from the dump
        itself: one ``INSERT`` line per row (``--skip-extended-insert``; the tool escapes line breaks
        inside values), the revisions from the rows of the ``alembic_version_*`` tables.
        ``progress``: tables, as ``mariadb-dump --verbose`` finishes each (the rows of its snapshot
        are known only from the dump, afterwards)."""
        dump = self._tool("mariadb-dump", "mysqldump")
        command = [dump, *self._client_args(), "--single-transaction", "--skip-lock-tables", "--no-tablespaces",
                   "--hex-blob", "--skip-extended-insert", "--skip-comments", "--add-drop-table", "--skip-triggers",
                   str(self.url.database)]
        with replaced_atomically(target) as tmp:
            with open(tmp, "wb") as out, contextlib.ExitStack() as stack:
                on_line = None
                if progress is not None:
                    tables = TableProgress(stack.enter_context(progress("mariadb-dump: tables", self._table_count())))
                    stack.callback(tables.done)

                    def on_line(line: str) -> None:
                        found = _DUMP_TABLE.match(line)
                        if found:
                            tables.started(found.group(1))

                    command.insert(-1, "--verbose")
                run_tool(command, self._client_env(), "mariadb-dump", stdout=out, on_line=on_line)
            return describe_dump(tmp)

    def restore(self, backup_file: Path, progress: Progress | None = None) -> None:
        """The dump is replayed by the ``mariadb`` client into a scratch database beside this one
        (``<database>__restore``), checked against the dump (tables, rows, revisions), and swapped in
        by one ``RENAME TABLE`` statement (atomic: every table or none), all under the migration lock.
        A restore that is killed or fails before the swap leaves the database as it was; the scratch
        databases of an interrupted restore are dropped by the next one. Needs the privilege to create
        ``<database>__restore`` and ``<database>__replaced`` (README). ``progress``: the bytes of the
        dump the client has read."""
        from sublarr.core.backup import BackupError

        client = self._tool("mariadb", "mysql")
        live = str(self.url.database)
        scratch, replaced = f"{live}__restore", f"{live}__replaced"
        if len(replaced) > 64:
            raise BackupError(f"database name {live!r} is too long for a restore's scratch database "
                              f"({replaced!r} exceeds MariaDB's 64 characters)")
        revisions, rows = describe_dump(backup_file)
        self.engine.dispose()
        with self.engine.connect() as conn, self.migration_lock(conn):
            quote = conn.dialect.identifier_preparer.quote_identifier
            try:
                for name in (scratch, replaced):  # an interrupted restore's leftovers: the lock is ours now
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote(name)}")
                conn.exec_driver_sql(f"CREATE DATABASE {quote(scratch)} CHARACTER SET {CHARSET} COLLATE {COLLATION}")
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "args", (None,))[0] in (1044, 1045):  # access denied
                    raise BackupError(f"restoring needs the privilege to create the scratch databases {scratch!r} "
                                      f"and {replaced!r} (nothing was changed); see the README, MariaDB") from None
                raise
            try:
                with contextlib.ExitStack() as stack:
                    if progress is None:
                        dump = stack.enter_context(open(backup_file, "rb"))
                    else:
                        update = stack.enter_context(progress("mariadb: bytes replayed", backup_file.stat().st_size))
                        dump = stack.enter_context(metered_stdin(backup_file, update))
                    run_tool([client, *self._client_args(), "--binary-mode", scratch],
                             self._client_env(), "mariadb", stdin=dump)
                restored = self._tables(conn, scratch)
                self._check_restored(conn, scratch, restored, revisions, rows, backup_file)
                current = self._tables(conn, live)
                conn.exec_driver_sql(f"CREATE DATABASE {quote(replaced)} CHARACTER SET {CHARSET} COLLATE {COLLATION}")
                moves = [f"{quote(live)}.{quote(t)} TO {quote(replaced)}.{quote(t)}" for t in current]
                moves += [f"{quote(scratch)}.{quote(t)} TO {quote(live)}.{quote(t)}" for t in restored]
                conn.exec_driver_sql("RENAME TABLE " + ", ".join(moves))
            finally:
                for name in (scratch, replaced):
                    with contextlib.suppress(SQLAlchemyError):
                        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote(name)}")
        self.engine.dispose()

    @staticmethod
    def _tables(conn: Connection, database: str) -> list[str]:
        return list(conn.execute(text("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :d "
                                      "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"), {"d": database}).scalars())

    @staticmethod
    def _check_restored(conn: Connection, database: str, tables: list[str], revisions: Mapping[str, str | None],
                        rows: Mapping[str, int], backup_file: Path) -> None:
        """The scratch database holds what the dump holds, or the swap does not happen."""
        from sublarr.core.backup import VERSION_TABLE_PREFIX, BackupError

        quote = conn.dialect.identifier_preparer.quote_identifier
        for table, expected in rows.items():
            found = (conn.exec_driver_sql(f"SELECT COUNT(*) FROM {quote(database)}.{quote(table)}").scalar()
                     if table in tables else None)
            if found != expected:
                raise BackupError(f"replaying {backup_file.name} gave {found} rows in {table}, the dump holds "
                                  f"{expected}; the database was not changed")
        for domain, revision in revisions.items():
            table = f"{VERSION_TABLE_PREFIX}{domain}"
            found = (conn.exec_driver_sql(f"SELECT version_num FROM {quote(database)}.{quote(table)}").scalar()
                     if table in tables else None)
            if found != revision:
                raise BackupError(f"replaying {backup_file.name} left domain {domain} at {found}, the dump says "
                                  f"{revision}; the database was not changed")

    def _table_count(self) -> int:
        with self.engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                                      "DATABASE() AND table_type = 'BASE TABLE'")).scalar_one()
            conn.rollback()
        return int(count)

    # -- status ---------------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT VERSION()").scalar()
            conn.rollback()
        return {
            "driver": self.name,
            "server": f"{self.url.host or 'localhost'}:{self.url.port or 3306}/{self.url.database}",
            "server_version": version,
            "collation": COLLATION,
            **self.pool_status(),
            "max_overflow": int(self.settings.db_pool_max_overflow),
            "pool_recycle": int(self.settings.db_pool_recycle),
        }


# what mariadb-dump --verbose says as it starts a table
_DUMP_TABLE = re.compile(r"^-- Retrieving table structure for table (.+)\.\.\.$")
_CREATE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`")
# a table with an invisible column (the hash column of a key over text) is dumped with its column list
_INSERT = re.compile(rb"^INSERT INTO `((?:[^`]|``)+)` (?:\((?:`(?:[^`]|``)+`(?:, )?)+\) )?VALUES \(")
_VERSION = re.compile(rb"^INSERT INTO `alembic_version_((?:[^`]|``)+)` VALUES \('((?:[^'\\]|\\.)*)'\);$")


def describe_dump(path: Path) -> tuple[dict[str, str | None], dict[str, int]]:
    """(schema revision per domain, row count per table) of a ``mariadb-dump --skip-extended-insert`` file."""
    from sublarr.core.backup import VERSION_TABLE_PREFIX

    revisions: dict[str, str | None] = {}
    rows: dict[str, int] = {}
    with open(path, "rb") as dump:
        for line in dump:
            if line.startswith(b"CREATE TABLE"):
                found = _CREATE.match(line)
                if found:
                    name = found.group(1).replace(b"``", b"`").decode()
                    if name.startswith(VERSION_TABLE_PREFIX):
                        revisions.setdefault(name[len(VERSION_TABLE_PREFIX):], None)
                    elif not name.startswith("alembic_version"):
                        rows.setdefault(name, 0)
            elif line.startswith(b"INSERT INTO"):
                version = _VERSION.match(line.rstrip(b"\n"))
                if version:
                    revisions[version.group(1).replace(b"``", b"`").decode()] = version.group(2).decode()
                    continue
                found = _INSERT.match(line)
                if found:
                    name = found.group(1).replace(b"``", b"`").decode()
                    if name in rows:
                        rows[name] += 1
    return revisions, dict(sorted(rows.items()))


@hookimpl
def sublarr_storage_drivers():
    return [MariadbStorage]
