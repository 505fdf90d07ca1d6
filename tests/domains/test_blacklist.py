"""blacklist domain: legacy behaviour, the race-safe duplicate fix, paging, migrations."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, inspect, select, update

from sublarr.core.timeutil import parse
from sublarr.plugins import blacklist
from sublarr.plugins.blacklist import (
    add_blacklist_entry,
    clear_blacklist,
    get_blacklist_count,
    get_blacklist_entries,
    is_blacklisted,
    remove_blacklist_entry,
)
from sublarr.plugins.blacklist.models import blacklist_entries as entries
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, create_legacy_tables, describe, model_drift

ROW_KEYS = ["id", "provider_name", "subtitle_id", "language", "file_path", "title", "reason", "added_at"]


def rows(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(entries).order_by(entries.c.id)).mappings()]


def set_added_at(kernel, entry_id: int, added_at: str) -> None:
    with kernel.engine.begin() as conn:
        conn.execute(update(entries).where(entries.c.id == entry_id).values(added_at=added_at))


# -- add / read ------------------------------------------------------------------------------------

def test_add_returns_new_id_and_stores_every_column(kernel):
    first = add_blacklist_entry("opensubtitles", "123", "de", "/tv/a.mkv", "A", "bad sync")
    second = kernel.repo("blacklist").add_blacklist_entry("subdl", "9")
    assert isinstance(first, int) and second == first + 1
    stored = rows(kernel)
    assert [list(r) for r in stored] == [ROW_KEYS, ROW_KEYS]
    assert stored[0] | {"added_at": None} == {
        "id": first, "provider_name": "opensubtitles", "subtitle_id": "123", "language": "de",
        "file_path": "/tv/a.mkv", "title": "A", "reason": "bad sync", "added_at": None}
    assert stored[1]["language"] == stored[1]["file_path"] == stored[1]["title"] == stored[1]["reason"] == ""
    assert parse(stored[0]["added_at"]) is not None and len(stored[0]["added_at"]) == 26


def test_duplicate_returns_the_existing_id_and_keeps_the_row(kernel):
    original = add_blacklist_entry("opensubtitles", "123", title="first", reason="r1")
    before = rows(kernel)
    assert add_blacklist_entry("opensubtitles", "123", title="second", reason="r2") == original
    assert rows(kernel) == before
    assert get_blacklist_count() == 1


def test_duplicate_id_is_not_the_last_inserted_rowid(kernel):
    # legacy returned cursor.lastrowid: after another insert that is the *other* row's id
    a = add_blacklist_entry("p", "a")
    b = add_blacklist_entry("p", "b")
    assert a != b
    assert add_blacklist_entry("p", "a") == a
    assert add_blacklist_entry("p", "b") == b


def test_key_is_exact_and_case_sensitive(kernel):
    ids = {add_blacklist_entry(p, s) for p, s in [("a_b", "x"), ("aXb", "x"), ("A_B", "x"), ("a_b", "X")]}
    assert len(ids) == 4
    assert is_blacklisted("a_b", "x") and is_blacklisted("aXb", "x")
    assert not is_blacklisted("a%", "x")
    assert not is_blacklisted("a_b", "x ")
    assert not kernel.repo("blacklist").is_blacklisted("nobody", "x")


def test_same_subtitle_id_from_another_provider_is_a_new_entry(kernel):
    assert add_blacklist_entry("p1", "42") != add_blacklist_entry("p2", "42")
    assert get_blacklist_count() == 2


@pytest.mark.parametrize("value", ["it's \"quoted\"", "100% _match_ \\ esc", "Ünïcödé 字幕 🎬", "x" * 1200])  # (provider, subtitle) key <= 2600 B
def test_strings_round_trip_exactly(kernel, value):
    entry_id = add_blacklist_entry(value, value, value, value, value, value)
    stored = rows(kernel)[0]
    assert stored["id"] == entry_id
    assert [stored[k] for k in ROW_KEYS[1:7]] == [value] * 6
    assert is_blacklisted(value, value)
    assert add_blacklist_entry(value, value) == entry_id


# -- remove / clear / count ------------------------------------------------------------------------

def test_remove_reports_whether_an_entry_was_deleted(kernel):
    keep = add_blacklist_entry("p", "keep")
    gone = add_blacklist_entry("p", "gone")
    assert remove_blacklist_entry(gone) is True
    assert kernel.repo("blacklist").remove_blacklist_entry(gone) is False
    assert remove_blacklist_entry(10_000) is False
    assert [r["id"] for r in rows(kernel)] == [keep]
    assert not is_blacklisted("p", "gone")


def test_clear_returns_the_number_deleted(kernel):
    assert clear_blacklist() == 0
    for i in range(7):
        add_blacklist_entry("p", str(i))
    assert get_blacklist_count() == 7
    assert clear_blacklist() == 7
    assert get_blacklist_count() == 0
    assert kernel.repo("blacklist").get_blacklist_count() == 0


# -- paging ----------------------------------------------------------------------------------------

def test_entries_are_paginated_newest_first(kernel):
    ids = [add_blacklist_entry("p", str(i)) for i in range(5)]
    page = get_blacklist_entries(page=1, per_page=2)
    assert {k: page[k] for k in ("page", "per_page", "total", "total_pages")} == \
        {"page": 1, "per_page": 2, "total": 5, "total_pages": 3}
    assert [r["id"] for r in page["data"]] == [ids[4], ids[3]]
    assert list(page["data"][0]) == ROW_KEYS
    assert [r["id"] for r in get_blacklist_entries(3, 2)["data"]] == [ids[0]]
    assert get_blacklist_entries(4, 2)["data"] == []
    default = kernel.repo("blacklist").get_blacklist_entries()
    assert (default["page"], default["per_page"], len(default["data"])) == (1, 50, 5)


def test_ordering_follows_added_at_then_id_for_ties(kernel):
    a, b, c, d = (add_blacklist_entry("p", s) for s in "abcd")
    set_added_at(kernel, a, "2030-01-01T00:00:00.000000")  # newest despite the smallest id
    set_added_at(kernel, b, "2020-01-01T00:00:00.000000")
    set_added_at(kernel, c, "2020-01-01T00:00:00.000000")
    set_added_at(kernel, d, "2019-01-01T00:00:00.000000")
    assert [r["id"] for r in get_blacklist_entries(1, 10)["data"]] == [a, c, b, d]
    # the tie is split identically across page borders
    assert [r["id"] for r in get_blacklist_entries(2, 2)["data"]] == [b, d]


def test_empty_blacklist_has_one_page(kernel):
    assert get_blacklist_entries() == {"data": [], "page": 1, "per_page": 50, "total": 0, "total_pages": 1}


@pytest.mark.parametrize("page, per_page", [(0, 50), (-1, 50), (1, 0), (1, -5), ("1", 50), (1, None)])
def test_bad_paging_raises_value_error(kernel, page, per_page):
    with pytest.raises(ValueError):
        get_blacklist_entries(page, per_page)


# -- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    (None, "1"), ("p", None), (1, "1"), ("p", 1), ("", "1"), ("p", ""), ("p", "1", None),
    ("p", "1", "de", b"/x"), ("p", "1", "de", "", 5), ("p", "1", "", "", "", ["r"]), ("p\x00", "1"),
])
def test_bad_input_raises_and_writes_nothing(kernel, args):
    with pytest.raises(ValueError):
        add_blacklist_entry(*args)
    assert get_blacklist_count() == 0


@pytest.mark.parametrize("call", [
    lambda: remove_blacklist_entry("1"), lambda: remove_blacklist_entry(None), lambda: remove_blacklist_entry(1.0),
    lambda: is_blacklisted(None, "1"), lambda: is_blacklisted("p", 1),
])
def test_bad_lookups_raise_value_error(kernel, call):
    add_blacklist_entry("p", "1")
    with pytest.raises(ValueError):
        call()
    assert get_blacklist_count() == 1


# -- concurrency -----------------------------------------------------------------------------------

def test_racing_adds_of_one_key_all_get_the_same_id(kernel):
    start = threading.Barrier(8)

    def add(_):
        start.wait()
        return {add_blacklist_entry("racer", "same-key") for _ in range(25)}

    with ThreadPoolExecutor(8) as pool:
        seen = set().union(*pool.map(add, range(8)))
    assert len(seen) == 1
    assert rows(kernel)[0]["id"] == seen.pop()
    assert get_blacklist_count() == 1


def test_concurrent_adds_create_no_duplicates(kernel):
    def add(worker):
        return [(i % 50, add_blacklist_entry("p", f"sub-{i % 50}", reason=f"w{worker}")) for i in range(500)]

    with ThreadPoolExecutor(8) as pool:
        results = [pair for chunk in pool.map(add, range(8)) for pair in chunk]
    ids_by_key: dict[int, set[int]] = {}
    for key, entry_id in results:
        ids_by_key.setdefault(key, set()).add(entry_id)
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    assert len({ids.pop() for ids in ids_by_key.values()}) == 50
    assert get_blacklist_count() == 50


# -- package, plugin -------------------------------------------------------------------------------

def test_package_exports_the_legacy_functions():
    assert set(blacklist.__all__) == {"add_blacklist_entry", "remove_blacklist_entry", "clear_blacklist",
                                      "is_blacklisted", "get_blacklist_entries", "get_blacklist_count"}


# -- migrations ------------------------------------------------------------------------------------

def test_sqlite_baseline_reproduces_the_legacy_table(empty_database):
    compared = compare_with_legacy(empty_database, ["blacklist_entries"], "blacklist", "blacklist_0001")
    assert compared.ours == compared.legacy
    assert compared.autoincrement("blacklist_entries")


def test_postgresql_baseline_has_the_legacy_columns_and_indexes(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "blacklist", "blacklist_0001").close()
    described = describe(url, "blacklist_entries")
    assert [c[:3] for c in described["columns"]] == [
        ("id", "INTEGER", False), ("provider_name", "TEXT", False), ("subtitle_id", "TEXT", False),
        ("language", "TEXT", True), ("file_path", "TEXT", True), ("title", "TEXT", True),
        ("reason", "TEXT", True), ("added_at", "TEXT", False)]
    assert [c[3] for c in described["columns"][3:7]] == ["''::text"] * 4
    assert described["columns"][0][3].startswith("nextval(")
    assert described["unique"] == [["provider_name", "subtitle_id"]]
    assert described["indexes"] == [("idx_blacklist_provider", ["provider_name", "subtitle_id"], False)]


def test_head_adds_the_paging_index(kernel):
    indexes = describe(kernel.database_url, "blacklist_entries")["indexes"]
    assert ("idx_blacklist_added", ["added_at", "id"], False) in indexes


def test_models_match_the_migrated_schema(kernel):
    assert model_drift(kernel, ["blacklist_entries"]) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    url = empty_database(dialect)
    k = boot(url)
    try:
        assert k.migrator.current()["blacklist"] == k.migrator.heads()["blacklist"] == "blacklist_0003"
        add_blacklist_entry("p", "1")
        k.migrator.downgrade("base", domain="blacklist")
        assert k.migrator.current()["blacklist"] is None
        assert "blacklist_entries" not in inspect(k.engine).get_table_names()
        k.migrator.upgrade(domain="blacklist")
        assert k.migrator.current()["blacklist"] == "blacklist_0003"
        assert get_blacklist_count() == 0
        assert add_blacklist_entry("p", "1") == 1
    finally:
        k.close()


def test_legacy_sqlite_database_is_adopted_with_its_rows(empty_database):
    url = empty_database("sqlite")
    create_legacy_tables(url, ["blacklist_entries"], "INSERT INTO blacklist_entries (provider_name, subtitle_id, "
                         "added_at) VALUES ('p', 'old', '2024-01-01T10:00:00')")
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"blacklist": "blacklist_0001"})
        k.migrator.upgrade(domain="blacklist")
        assert is_blacklisted("p", "old")
        assert add_blacklist_entry("p", "old") == 1
        assert add_blacklist_entry("p", "new") > 1  # AUTOINCREMENT continues after the legacy rows
        assert [r["subtitle_id"] for r in get_blacklist_entries()["data"]] == ["new", "old"]
        with k.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(entries)).scalar() == 2
    finally:
        k.close()
