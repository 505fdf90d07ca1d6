"""No value of a row or a statement in a database error, on any engine (issue 15, item 1).

``hide_parameters`` keeps SQLAlchemy's "[parameters: ...]" out of error texts, but the servers quote
values themselves: PostgreSQL's "DETAIL: Key (token)=(<value>) already exists." and "Failing row
contains (...)", "invalid input syntax for type integer: "<value>"", MariaDB's "Duplicate entry
'<value>' for key ..." and "Incorrect integer value: '<value>' for column ...". The storage driver
masks them (``StorageDriver.hide_values``), keeping table, column and constraint names.
"""

from __future__ import annotations

import logging
import traceback

import pytest
import sqlalchemy as sa

SECRET = "hunter2-Zq8-api-key-0123456789"


@pytest.fixture
def probe(kernel):
    metadata = sa.MetaData()
    table = sa.Table(
        "error_probe", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token", sa.String(100), nullable=False, unique=True),
        sa.Column("size", sa.Integer),
        sa.Column("label", sa.String(100)),
        sa.CheckConstraint("size > 0", name="ck_error_probe_size"),
    )
    metadata.create_all(kernel.engine)
    with kernel.transaction() as session:
        session.execute(table.insert().values(token=SECRET, size=1, label="first"))
    yield table
    metadata.drop_all(kernel.engine)


def _fail(kernel, statement, params=None) -> sa.exc.DBAPIError:
    with pytest.raises(sa.exc.DBAPIError) as failed, kernel.transaction() as session:
        session.execute(statement, params or {})
    return failed.value


CASES = {
    "unique": (lambda t: t.insert().values(token=SECRET, size=2, label=SECRET), "token"),
    "not null": (lambda t: t.insert().values(token=None, size=3, label=SECRET), "token"),
    "check": (lambda t: t.insert().values(token="other", size=-1, label=SECRET), "ck_error_probe_size"),
}


@pytest.mark.parametrize("case", [*CASES, "data"])
def test_no_value_in_the_error_text_or_the_log(kernel, probe, caplog, case) -> None:
    caplog.set_level(logging.DEBUG)
    if case == "data":
        if not kernel.storage.features.file_based:
            exc = _fail(kernel, sa.text("INSERT INTO error_probe (token, size) VALUES ('data', :size)"),
                        {"size": SECRET})  # a text where the column holds integers
        else:
            pytest.skip("SQLite stores a text in an integer column (type affinity): no error to look at")
        name = "error_probe" if kernel.storage.name == "mariadb" else "integer"
    else:
        build, name = CASES[case]
        exc = _fail(kernel, build(probe))
    logging.getLogger("sublarr.test").exception("the write failed")
    shown = [str(exc), repr(exc), str(exc.orig), repr(exc.orig), "".join(traceback.format_exception(exc)),
             caplog.text]
    for text in shown:
        assert SECRET not in text, text
    assert name in str(exc)  # names stay: code that reads the message and people still can
    if case == "unique":
        assert isinstance(exc, sa.exc.IntegrityError)
        with kernel.transaction() as session:  # nothing was written, the first row is intact
            assert session.execute(sa.select(sa.func.count()).select_from(probe)).scalar_one() == 1
