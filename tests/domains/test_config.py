"""config domain: key/value settings in ``config_entries``."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, select

import sublarr.plugins.config as config
from sublarr.core.timeutil import parse
from sublarr.plugins.config import get_all_config_entries, get_config_entry, save_config_entry
from sublarr.plugins.config.models import config_entries as entries
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, describe


def stored(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(entries).order_by(entries.c.key)).mappings()]


def test_save_get_and_get_all(kernel):
    assert get_config_entry("target_language") is None
    assert get_all_config_entries() == {}
    save_config_entry("target_language", "de")
    kernel.repo("config").save_config_entry("source_language", "en")
    assert get_config_entry("target_language") == "de"
    assert kernel.repo("config").get_config_entry("source_language") == "en"
    assert get_all_config_entries() == {"target_language": "de", "source_language": "en"}
    assert kernel.repo("config").get_all_config_entries() == get_all_config_entries()
    row = stored(kernel)[0]
    assert list(row) == ["key", "value", "updated_at"]
    assert parse(row["updated_at"]) is not None and len(row["updated_at"]) == 26


def test_save_overwrites_and_refreshes_updated_at(kernel):
    save_config_entry("k", "one")
    first = stored(kernel)[0]
    save_config_entry("k", "two")
    second = stored(kernel)
    assert len(second) == 1
    assert second[0]["value"] == "two" and second[0]["updated_at"] >= first["updated_at"]
    assert get_config_entry("k") == "two"


def test_keys_are_exact_and_case_sensitive(kernel):
    save_config_entry("Key", "upper")
    save_config_entry("key", "lower")
    save_config_entry("k_y", "underscore")
    assert get_config_entry("Key") == "upper" and get_config_entry("key") == "lower"
    assert get_config_entry("kXy") is None and get_config_entry("k%") is None


def test_get_all_includes_plugin_keys_like_legacy(kernel):
    save_config_entry("plugin.opensubtitles.api_key", "x")
    save_config_entry("target_language", "de")
    assert get_all_config_entries() == {"plugin.opensubtitles.api_key": "x", "target_language": "de"}


def test_empty_value_is_a_value(kernel):
    save_config_entry("k", "")
    assert get_config_entry("k") == ""
    assert get_all_config_entries() == {"k": ""}


@pytest.mark.parametrize("value", ["it's \"quoted\"", "100% _match_ \\ esc", "Ünïcödé 字幕 🎬\n\ttabs",
                                   "x" * 10_240, "ü字" * 5_120])
def test_values_and_keys_round_trip_exactly(kernel, value):
    key = value[:200]
    save_config_entry(key, value)
    assert get_config_entry(key) == value
    assert get_all_config_entries() == {key: value}


@pytest.mark.parametrize("key, value", [
    (None, "v"), (5, "v"), ("", "v"), ("k", None), ("k", 5), ("k", b"v"), ("k\x00", "v"), ("k", "v\x00"),
])
def test_bad_input_raises_and_writes_nothing(kernel, key, value):
    with pytest.raises(ValueError):
        save_config_entry(key, value)
    assert get_all_config_entries() == {}


def test_get_with_a_non_string_key_raises_value_error(kernel):
    with pytest.raises(ValueError):
        get_config_entry(5)


def test_keys_longer_than_the_index_allows_are_refused_on_every_dialect(kernel):
    # PostgreSQL cannot index a text key over ~2.7 kB; the limit is the same everywhere
    with pytest.raises(ValueError, match="at most 512"):
        save_config_entry("k" * 513, "v")
    save_config_entry("ü" * 512, "v")
    assert get_config_entry("ü" * 512) == "v"


def test_concurrent_saves_of_one_key_keep_one_row(kernel):
    start = threading.Barrier(8)

    def write(worker):
        start.wait()
        for i in range(100):
            save_config_entry("shared", f"{worker}:{i}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    rows = stored(kernel)
    assert len(rows) == 1 and rows[0]["value"].endswith(":99")


def test_package_exports_the_legacy_functions():
    assert set(config.__all__) == {"save_config_entry", "get_config_entry", "get_all_config_entries",
                                   # for the plugin_config domain, which reads through this repository
                                   "get_config_entries_by_prefix", "delete_config_entries_by_prefix"}


# -- migrations ------------------------------------------------------------------------------------

def test_sqlite_baseline_reproduces_the_legacy_table(empty_database):
    compared = compare_with_legacy(empty_database, ["config_entries"], "config", "config_0001")
    assert compared.ours == compared.legacy


def test_postgresql_baseline_has_the_legacy_columns(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "config", "config_0001").close()
    assert describe(url, "config_entries") == {
        "columns": [("key", "TEXT", False, None), ("value", "TEXT", False, None), ("updated_at", "TEXT", False, None)],
        "pk": ["key"], "unique": [], "fks": [], "indexes": [],
    }


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    k = boot(empty_database(dialect))
    try:
        head = k.migrator.heads()["config"]
        assert k.migrator.current()["config"] == head
        save_config_entry("k", "v")
        k.migrator.downgrade("base", domain="config")
        assert k.migrator.current()["config"] is None
        assert "config_entries" not in inspect(k.engine).get_table_names()
        k.migrator.upgrade(domain="config")
        assert k.migrator.current()["config"] == head
        assert get_all_config_entries() == {}
        save_config_entry("k", "again")
        assert get_config_entry("k") == "again"
    finally:
        k.close()


def test_entries_by_prefix_match_literally_and_in_code_point_order(kernel):
    repo = kernel.repo("config")
    for key in ("p.b", "p.a", "p.Ä", "p.Z", "pXb", "P.a", "q.a"):
        repo.save_config_entry(key, key.upper())
    assert list(repo.get_config_entries_by_prefix("p.")) == ["p.Z", "p.a", "p.b", "p.Ä"]
    assert repo.get_config_entries_by_prefix("p_") == {}  # "_" and "%" are no wildcards
    assert repo.get_config_entries_by_prefix("") == repo.get_all_config_entries()
    with pytest.raises(ValueError, match="prefix must not be empty"):
        repo.delete_config_entries_by_prefix("")  # would be every entry
    assert repo.delete_config_entries_by_prefix("p.") == 4
    assert sorted(repo.get_all_config_entries()) == ["P.a", "pXb", "q.a"]
