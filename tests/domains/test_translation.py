"""translation domain: config history, glossary, prompt presets and backend stats (legacy
``db/translation.py``) on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import math
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect

from sublarr.plugins import translation
from sublarr.plugins.translation.models import (
    glossary_entries,
    prompt_presets,
    translation_backend_stats,
    translation_config_history,
)
from tests.conftest import boot
from tests.domains.rows import count, set_columns
from tests.domains.schema import compare_with_legacy, create_legacy_tables, reflect

TRICKY = ["it's \"quoted\"", "100% _under_ \\back", "Ünïcödé 字幕 🎬", "x" * 2000]  # the longest indexed value (MAX_INDEXED_BYTES)
TRICKY_IDS = ["quotes", "like-metacharacters", "unicode", "long"]
HISTORY_KEYS = ["id", "config_hash", "ollama_model", "prompt_template", "target_language", "first_used_at",
                "last_used_at"]
GLOSSARY_KEYS = ["id", "series_id", "source_term", "target_term", "notes", "created_at", "updated_at"]
PRESET_KEYS = ["id", "name", "prompt_template", "is_default", "created_at", "updated_at"]
BACKEND_KEYS = ["backend_name", "total_requests", "successful_translations", "failed_translations",
                "total_characters", "avg_response_time_ms", "last_response_time_ms", "last_success_at",
                "last_failure_at", "last_error", "consecutive_failures", "updated_at"]

TABLES = ["translation_config_history", "glossary_entries", "prompt_presets", "translation_backend_stats"]


def test_package_exports_legacy_and_repository_names(kernel):
    legacy = {
        "record_translation_config",
        "add_glossary_entry", "get_glossary_entries", "get_glossary_for_series", "get_glossary_entry",
        "update_glossary_entry", "delete_glossary_entry", "delete_glossary_entries_for_series",
        "search_glossary_terms",
        "add_prompt_preset", "get_prompt_presets", "get_prompt_preset", "get_default_prompt_preset",
        "update_prompt_preset", "delete_prompt_preset",
        "record_backend_success", "record_backend_failure", "get_backend_stats", "get_backend_stat",
        "reset_backend_stats",
    }
    assert len(legacy) == 20
    assert set(translation.__all__) == legacy | {"get_translation_config_history", "get_all_backend_stats",
                                                 "GLOSSARY_PROMPT_LIMIT", "LAST_ERROR_MAX_LENGTH"}
    assert translation.get_prompt_presets() == kernel.repo("translation").get_prompt_presets()


# == config history ================================================================================

def test_record_translation_config_first_use_and_later_uses(kernel):
    translation.record_translation_config("abc123def456", "qwen2.5:14b", "Translate...", "de")
    [row] = translation.get_translation_config_history()
    assert list(row) == HISTORY_KEYS
    assert (row["config_hash"], row["ollama_model"], row["prompt_template"], row["target_language"]) == \
        ("abc123def456", "qwen2.5:14b", "Translate...", "de")
    assert row["first_used_at"] == row["last_used_at"]
    set_columns(kernel, translation_config_history, translation_config_history.c.id == row["id"],
                first_used_at="2026-01-01T00:00:00.000000", last_used_at="2026-01-01T00:00:00.000000")
    # legacy: a hash hit only refreshes last_used_at; model, prompt and language of the first use stay
    translation.record_translation_config("abc123def456", "other-model", "Other", "fr")
    [again] = translation.get_translation_config_history()
    assert again["id"] == row["id"]
    assert (again["ollama_model"], again["prompt_template"], again["target_language"]) == \
        ("qwen2.5:14b", "Translate...", "de")
    assert again["first_used_at"] == "2026-01-01T00:00:00.000000" < again["last_used_at"]


def test_config_history_is_ordered_by_last_use(kernel):
    assert translation.get_translation_config_history() == []
    for config_hash in ("a", "b", "c"):
        translation.record_translation_config(config_hash, "m", "p", "de")
    for config_hash, stamp in (("a", "2026-01-02"), ("b", "2026-01-03"), ("c", "2026-01-01")):
        set_columns(kernel, translation_config_history, translation_config_history.c.config_hash == config_hash,
                    last_used_at=stamp + "T00:00:00.000000")
    assert [r["config_hash"] for r in translation.get_translation_config_history()] == ["b", "a", "c"]
    translation.record_translation_config("c", "m", "p", "de")
    assert [r["config_hash"] for r in translation.get_translation_config_history()] == ["c", "b", "a"]


def test_record_translation_config_accepts_none_for_nullable_columns(kernel):
    translation.record_translation_config("h", None, None, None)
    row = translation.get_translation_config_history()[0]
    assert row["ollama_model"] is None and row["prompt_template"] is None and row["target_language"] is None


@pytest.mark.parametrize("args", [(None, "m", "p", "de"), ("", "m", "p", "de"), (12, "m", "p", "de"),
                                  ("h", 1, "p", "de"), ("h", "m", b"p", "de"), ("h", "m", "p", 7)])
def test_record_translation_config_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.record_translation_config(*args)
    assert count(kernel, translation_config_history) == 0


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_config_history_strings_round_trip(kernel, text):
    translation.record_translation_config(text, text, text, text)
    row = translation.get_translation_config_history()[0]
    assert row["config_hash"] == row["ollama_model"] == row["prompt_template"] == row["target_language"] == text


def test_concurrent_config_records_create_one_row_per_hash(kernel):
    hashes = [f"hash{i}" for i in range(10)]

    def worker(_):
        for n in range(100):
            translation.record_translation_config(hashes[n % len(hashes)], "m", "p", "de")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert sorted(r["config_hash"] for r in translation.get_translation_config_history()) == sorted(hashes)


# == glossary ======================================================================================

def test_add_and_get_a_glossary_entry(kernel):
    entry_id = translation.add_glossary_entry(7, "  Onii-chan ", " Bruder\t", "  honorific  ")
    assert isinstance(entry_id, int)
    entry = translation.get_glossary_entry(entry_id)
    assert list(entry) == GLOSSARY_KEYS
    assert (entry["series_id"], entry["source_term"], entry["target_term"], entry["notes"]) == \
        (7, "Onii-chan", "Bruder", "honorific")
    assert entry["created_at"] == entry["updated_at"] and len(entry["created_at"]) == 26
    assert translation.add_glossary_entry(7, "Onii-chan", "Bruder") != entry_id  # duplicates allowed (legacy)
    assert translation.get_glossary_entry(entry_id + 1000) is None


@pytest.mark.parametrize("args", [(None, "a", "b"), ("7", "a", "b"), (1.0, "a", "b"), (True, "a", "b"),
                                  (1, None, "b"), (1, "a", 3), (1, "a", "b", None), (1, "a\x00", "b"),
                                  (2**31, "a", "b")])
def test_add_glossary_entry_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.add_glossary_entry(*args)
    assert count(kernel, glossary_entries) == 0


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_glossary_strings_round_trip(kernel, text):
    entry_id = translation.add_glossary_entry(1, text, text, text)
    entry = translation.get_glossary_entry(entry_id)
    assert entry["source_term"] == entry["target_term"] == entry["notes"] == text


def test_glossary_entries_by_source_term_binary_order_then_age(kernel):
    ids = {}
    for term in ["beta", "alpha", "Alpha", "Zeta", "alpha"]:
        ids.setdefault(term, []).append(translation.add_glossary_entry(1, term, term.upper()))
    translation.add_glossary_entry(2, "aaa", "other series")
    set_columns(kernel, glossary_entries, glossary_entries.c.id == ids["alpha"][0], created_at="2026-02-01T00:00:00.000000")
    set_columns(kernel, glossary_entries, glossary_entries.c.id == ids["alpha"][1], created_at="2026-01-01T00:00:00.000000")
    rows = translation.get_glossary_entries(1)
    assert [r["source_term"] for r in rows] == ["Alpha", "Zeta", "alpha", "alpha", "beta"]
    assert [r["id"] for r in rows[2:4]] == [ids["alpha"][1], ids["alpha"][0]]
    assert list(rows[0]) == GLOSSARY_KEYS
    assert translation.get_glossary_entries(99) == []


def test_glossary_for_series_gives_the_15_most_recently_edited_pairs(kernel):
    for i in range(20):
        entry_id = translation.add_glossary_entry(3, f"term{i:02}", f"Begriff{i:02}")
        set_columns(kernel, glossary_entries, glossary_entries.c.id == entry_id,
                    updated_at=f"2026-01-{i + 1:02}T00:00:00.000000")
    translation.add_glossary_entry(4, "elsewhere", "anderswo")
    pairs = translation.get_glossary_for_series(3)
    assert len(pairs) == translation.GLOSSARY_PROMPT_LIMIT == 15
    assert pairs[0] == {"source_term": "term19", "target_term": "Begriff19"}
    assert [p["source_term"] for p in pairs] == [f"term{i:02}" for i in range(19, 4, -1)]
    assert list(pairs[0]) == ["source_term", "target_term"]
    assert translation.get_glossary_for_series(99) == []


def test_update_glossary_entry(kernel):
    entry_id = translation.add_glossary_entry(1, "a", "b", "n")
    set_columns(kernel, glossary_entries, glossary_entries.c.id == entry_id, updated_at="2026-01-01T00:00:00.000000")
    assert translation.update_glossary_entry(entry_id, target_term="  B2 ") is True
    entry = translation.get_glossary_entry(entry_id)
    assert (entry["source_term"], entry["target_term"], entry["notes"]) == ("a", "B2", "n")
    assert entry["updated_at"] > "2026-01-01T00:00:00.000000"
    assert translation.update_glossary_entry(entry_id, source_term="x", target_term="y", notes="") is True
    entry = translation.get_glossary_entry(entry_id)
    assert (entry["source_term"], entry["target_term"], entry["notes"]) == ("x", "y", "")


def test_update_glossary_entry_without_fields_or_row_is_false(kernel):
    entry_id = translation.add_glossary_entry(1, "a", "b")
    before = translation.get_glossary_entry(entry_id)
    assert translation.update_glossary_entry(entry_id) is False
    assert translation.get_glossary_entry(entry_id) == before
    assert translation.update_glossary_entry(entry_id + 1, source_term="x") is False


@pytest.mark.parametrize("kwargs", [{"source_term": 1}, {"target_term": b"x"}, {"notes": 3.0}])
def test_update_glossary_entry_bad_values_write_nothing(kernel, kwargs):
    entry_id = translation.add_glossary_entry(1, "a", "b")
    before = translation.get_glossary_entry(entry_id)
    with pytest.raises(ValueError):
        translation.update_glossary_entry(entry_id, **{"notes": "changed", **kwargs})
    assert translation.get_glossary_entry(entry_id) == before
    with pytest.raises(ValueError):
        translation.update_glossary_entry("1", notes="x")


def test_delete_glossary_entries(kernel):
    keep = translation.add_glossary_entry(2, "keep", "behalten")
    first = translation.add_glossary_entry(1, "a", "b")
    translation.add_glossary_entry(1, "c", "d")
    assert translation.delete_glossary_entry(first) is True
    assert translation.delete_glossary_entry(first) is False
    assert translation.delete_glossary_entries_for_series(1) == 1
    assert translation.delete_glossary_entries_for_series(1) == 0
    assert [e["id"] for e in translation.get_glossary_entries(2)] == [keep]
    with pytest.raises(ValueError):
        translation.delete_glossary_entry(None)
    with pytest.raises(ValueError):
        translation.delete_glossary_entries_for_series("2")


def test_search_glossary_terms_case_insensitive_on_both_sides(kernel):
    translation.add_glossary_entry(1, "Titan", "Titan")
    translation.add_glossary_entry(1, "Scout Regiment", "Aufklärungstrupp")
    translation.add_glossary_entry(1, "wall", "Mauer")
    translation.add_glossary_entry(2, "titan", "Riese")
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "TITAN")] == ["Titan"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "mau")] == ["wall"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "aufklärung")] == ["Scout Regiment"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "a")] == \
        ["Scout Regiment", "Titan", "wall"]
    assert len(translation.search_glossary_terms(1, "")) == 3  # legacy: '%%' matches every entry
    assert translation.search_glossary_terms(3, "titan") == []
    assert list(translation.search_glossary_terms(1, "wall")[0]) == GLOSSARY_KEYS


def test_search_glossary_terms_matches_like_metacharacters_literally(kernel):
    for term in ["100% sure", "100 percent", "a_b", "aXb", "back\\slash", "backXslash"]:
        translation.add_glossary_entry(1, term, "t")
    # legacy: '%' and '_' were wildcards, so "%" matched everything and "a_b" matched "aXb"
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "%")] == ["100% sure"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "A_B")] == ["a_b"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "_")] == ["a_b"]
    assert [e["source_term"] for e in translation.search_glossary_terms(1, "k\\s")] == ["back\\slash"]


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_search_glossary_terms_finds_tricky_strings_exactly(kernel, text):
    translation.add_glossary_entry(1, text, "t")
    translation.add_glossary_entry(1, "plain", "t")
    assert [e["source_term"] for e in translation.search_glossary_terms(1, text)] == [text]


@pytest.mark.parametrize("args", [(1, None), (1, 5), (None, "x"), ("1", "x")])
def test_search_glossary_terms_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.search_glossary_terms(*args)


# == prompt presets ================================================================================

def test_a_fresh_database_has_the_default_preset(kernel):
    [preset] = translation.get_prompt_presets()
    assert list(preset) == PRESET_KEYS
    assert preset["name"] == "Default" and preset["is_default"] == 1
    assert "from English to German" in preset["prompt_template"]
    assert "{source_language}" not in preset["prompt_template"]
    assert preset["created_at"] == preset["updated_at"]
    assert translation.get_default_prompt_preset() == preset
    assert translation.get_prompt_preset(preset["id"]) == preset


def test_the_default_preset_names_the_configured_languages(storage, empty_database):
    k = boot(empty_database(storage), source_language_name="Japanese", target_language_name="French")
    try:
        assert "from Japanese to French" in translation.get_default_prompt_preset()["prompt_template"]
    finally:
        k.close()


def test_add_prompt_preset(kernel):
    default = translation.get_default_prompt_preset()
    preset_id = translation.add_prompt_preset("  Anime ", "  Translate {source_language} anime\n")
    preset = translation.get_prompt_preset(preset_id)
    assert (preset["name"], preset["prompt_template"], preset["is_default"]) == \
        ("Anime", "Translate {source_language} anime", 0)
    assert translation.get_default_prompt_preset() == default
    assert translation.get_prompt_preset(preset_id + 100) is None


def test_add_prompt_preset_as_default_moves_the_default(kernel):
    old = translation.get_default_prompt_preset()
    new_id = translation.add_prompt_preset("Formal", "Sie", is_default=True)
    assert translation.get_default_prompt_preset()["id"] == new_id
    assert translation.get_prompt_preset(old["id"])["is_default"] == 0
    assert [p["is_default"] for p in translation.get_prompt_presets()] == [1, 0]


def test_a_failed_add_leaves_the_old_default(kernel):
    # legacy: the old default was cleared and committed before the INSERT failed, leaving none
    old = translation.get_default_prompt_preset()
    with pytest.raises(ValueError, match="exists already"):
        translation.add_prompt_preset("Default", "other", is_default=True)
    with pytest.raises(ValueError, match="exists already"):
        translation.add_prompt_preset("  Default  ", "other", is_default=True)  # names are stripped first
    assert translation.get_default_prompt_preset() == old
    assert len(translation.get_prompt_presets()) == 1


@pytest.mark.parametrize("args", [(None, "t"), (1, "t"), ("n", None), ("n", b"t"), ("n", "t", "yes"),
                                  ("n", "t", None), ("n\x00", "t")])
def test_add_prompt_preset_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.add_prompt_preset(*args)
    assert count(kernel, prompt_presets) == 1


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_preset_strings_round_trip(kernel, text):
    preset_id = translation.add_prompt_preset(text, text)
    preset = translation.get_prompt_preset(preset_id)
    assert preset["name"] == preset["prompt_template"] == text


def test_prompt_presets_default_first_then_by_name(kernel):
    for name in ["beta", "Alpha", "gamma"]:
        translation.add_prompt_preset(name, "t")
    with kernel.engine.begin() as conn:  # a legacy row with a NULL flag sorts last, as on SQLite
        conn.execute(prompt_presets.insert().values(name="aardvark", prompt_template="t", is_default=None,
                                                            created_at="x", updated_at="x"))
    assert [p["name"] for p in translation.get_prompt_presets()] == ["Default", "Alpha", "beta", "gamma", "aardvark"]
    gamma = next(p["id"] for p in translation.get_prompt_presets() if p["name"] == "gamma")
    translation.update_prompt_preset(gamma, is_default=True)
    assert [p["name"] for p in translation.get_prompt_presets()] == ["gamma", "Alpha", "Default", "beta", "aardvark"]


def test_several_legacy_defaults_resolve_to_the_most_recently_changed(kernel):
    # legacy had no ORDER BY, so with several defaults (a race of two add_prompt_preset calls) any won
    set_columns(kernel, prompt_presets, prompt_presets.c.name == "Default", updated_at="2025-01-01T00:00:00.000000")
    with kernel.engine.begin() as conn:
        for name, stamp in (("old", "2026-01-01"), ("new", "2026-03-01"), ("mid", "2026-02-01")):
            conn.execute(prompt_presets.insert().values(
                name=name, prompt_template="t", is_default=1, created_at=stamp, updated_at=stamp))
    assert translation.get_default_prompt_preset()["name"] == "new"
    old_id = next(p["id"] for p in translation.get_prompt_presets() if p["name"] == "old")
    assert translation.update_prompt_preset(old_id, is_default=True) is True
    assert [p["name"] for p in translation.get_prompt_presets() if p["is_default"]] == ["old"]


def test_update_prompt_preset_fields(kernel):
    preset_id = translation.add_prompt_preset("A", "one")
    set_columns(kernel, prompt_presets, prompt_presets.c.id == preset_id, updated_at="2026-01-01T00:00:00.000000")
    assert translation.update_prompt_preset(preset_id, name=" B ", prompt_template=" two ") is True
    preset = translation.get_prompt_preset(preset_id)
    assert (preset["name"], preset["prompt_template"], preset["is_default"]) == ("B", "two", 0)
    assert preset["updated_at"] > "2026-01-01T00:00:00.000000"


def test_update_prompt_preset_moves_and_removes_the_default(kernel):
    default_id = translation.get_default_prompt_preset()["id"]
    other = translation.add_prompt_preset("Other", "t")
    assert translation.update_prompt_preset(other, is_default=True) is True
    assert translation.get_default_prompt_preset()["id"] == other
    assert translation.get_prompt_preset(default_id)["is_default"] == 0
    assert translation.update_prompt_preset(other, is_default=True) is True  # already the default: stays
    assert translation.get_default_prompt_preset()["id"] == other
    # legacy, kept: an explicit is_default=False may leave no default
    assert translation.update_prompt_preset(other, is_default=False) is True
    assert translation.get_default_prompt_preset() is None


def test_update_prompt_preset_without_fields_or_row(kernel):
    default = translation.get_default_prompt_preset()
    assert translation.update_prompt_preset(default["id"]) is False
    # legacy raw: is_default=True on a missing id cleared every other default anyway
    assert translation.update_prompt_preset(default["id"] + 100, is_default=True) is False
    assert translation.get_default_prompt_preset() == default


def test_a_failed_update_leaves_the_old_default(kernel):
    default = translation.get_default_prompt_preset()
    other = translation.add_prompt_preset("Other", "t")
    with pytest.raises(ValueError, match="exists already"):
        translation.update_prompt_preset(other, name="Default", is_default=True)
    assert translation.get_default_prompt_preset() == default
    assert translation.get_prompt_preset(other)["name"] == "Other"


@pytest.mark.parametrize("kwargs", [{"name": 1}, {"prompt_template": b"t"}, {"is_default": "yes"},
                                    {"is_default": 1.0}])
def test_update_prompt_preset_bad_values_write_nothing(kernel, kwargs):
    default = translation.get_default_prompt_preset()
    with pytest.raises(ValueError):
        translation.update_prompt_preset(default["id"], **kwargs)
    assert translation.get_prompt_presets() == [default]
    with pytest.raises(ValueError):
        translation.update_prompt_preset(str(default["id"]), name="x")


def test_delete_prompt_preset_never_deletes_the_last_one(kernel):
    default_id = translation.get_default_prompt_preset()["id"]
    assert translation.delete_prompt_preset(default_id) is False
    assert translation.delete_prompt_preset(default_id + 100) is False  # legacy: refused before the lookup
    other = translation.add_prompt_preset("Other", "t")
    assert translation.delete_prompt_preset(other + 100) is False
    assert translation.delete_prompt_preset(default_id) is True  # the default may go (legacy, kept)
    assert translation.get_default_prompt_preset() is None
    assert translation.delete_prompt_preset(other) is False
    assert [p["id"] for p in translation.get_prompt_presets()] == [other]
    with pytest.raises(ValueError):
        translation.delete_prompt_preset(None)


def test_concurrent_default_changes_leave_exactly_one_default(kernel):
    ids = [translation.add_prompt_preset(f"P{i}", "t") for i in range(8)]

    def worker(i):
        rng = random.Random(i)
        for n in range(25):
            if n % 5 == 4:
                translation.add_prompt_preset(f"new-{i}-{n}", "t", is_default=True)
            else:
                translation.update_prompt_preset(rng.choice(ids), is_default=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    assert sum(1 for p in translation.get_prompt_presets() if p["is_default"] == 1) == 1


def delete_together(barrier: threading.Barrier, preset_id: int) -> bool:
    barrier.wait()  # all deletes start at once
    return translation.delete_prompt_preset(preset_id)


def test_concurrent_deletes_keep_one_preset(kernel):
    for round_ in range(3):
        ids = [p["id"] for p in translation.get_prompt_presets()]
        ids += [translation.add_prompt_preset(f"R{round_}-{i}", "t") for i in range(8 - len(ids))]
        with ThreadPoolExecutor(8) as pool:
            deleted = list(pool.map(functools.partial(delete_together, threading.Barrier(8)), ids))
        assert sum(deleted) == 7
        assert len(translation.get_prompt_presets()) == 1


# == backend stats =================================================================================

def test_first_success_creates_the_row(kernel):
    translation.record_backend_success("ollama", 120.5, 1000)
    row = translation.get_backend_stat("ollama")
    assert list(row) == BACKEND_KEYS
    assert (row["total_requests"], row["successful_translations"], row["failed_translations"]) == (1, 1, 0)
    assert (row["total_characters"], row["avg_response_time_ms"], row["last_response_time_ms"]) == (1000, 120.5, 120.5)
    assert row["last_success_at"] == row["updated_at"] and row["last_failure_at"] is None
    assert (row["last_error"], row["consecutive_failures"]) == ("", 0)


def test_success_average_sequence(kernel):
    for rt in (100, 200, 300):
        translation.record_backend_success("deepl", rt, 10)
    row = translation.get_backend_stat("deepl")
    assert row["avg_response_time_ms"] == 200.0 and row["last_response_time_ms"] == 300.0
    assert (row["total_requests"], row["successful_translations"], row["total_characters"]) == (3, 3, 30)


def test_first_failure_creates_the_row(kernel):
    translation.record_backend_failure("google", "HTTP 503")
    row = translation.get_backend_stat("google")
    assert (row["total_requests"], row["successful_translations"], row["failed_translations"]) == (1, 0, 1)
    assert (row["consecutive_failures"], row["last_error"], row["total_characters"]) == (1, "HTTP 503", 0)
    assert row["last_failure_at"] == row["updated_at"] and row["last_success_at"] is None
    assert (row["avg_response_time_ms"], row["last_response_time_ms"]) == (0.0, 0.0)


def test_the_average_counts_successes_only(kernel):
    # legacy divided by total_requests: (100*2 + 200) / 3 = 133.3 after one failure in between
    translation.record_backend_success("ollama", 100, 1)
    translation.record_backend_failure("ollama", "timeout")
    translation.record_backend_failure("ollama", "timeout")
    row = translation.get_backend_stat("ollama")
    assert (row["avg_response_time_ms"], row["consecutive_failures"], row["total_requests"]) == (100.0, 2, 3)
    translation.record_backend_success("ollama", 200, 1)
    row = translation.get_backend_stat("ollama")
    assert row["avg_response_time_ms"] == 150.0
    assert (row["total_requests"], row["successful_translations"], row["failed_translations"]) == (4, 2, 2)
    assert row["consecutive_failures"] == 0 and row["last_error"] == "timeout"


def test_the_first_success_after_failures_sets_the_average(kernel):
    translation.record_backend_failure("libre", "down")
    translation.record_backend_success("libre", 80, 5)
    row = translation.get_backend_stat("libre")
    assert row["avg_response_time_ms"] == 80.0 and row["total_requests"] == 2


def test_stats_rows_with_legacy_nulls_are_counted_from_zero(kernel):
    with kernel.engine.begin() as conn:
        conn.execute(translation_backend_stats.insert().values(
            backend_name="legacy", total_requests=None, successful_translations=None, failed_translations=None,
            total_characters=None, avg_response_time_ms=None, consecutive_failures=None, updated_at="x"))
    translation.record_backend_success("legacy", 50, 7)
    translation.record_backend_failure("legacy", "e")
    row = translation.get_backend_stat("legacy")
    assert (row["total_requests"], row["successful_translations"], row["failed_translations"]) == (2, 1, 1)
    assert (row["total_characters"], row["avg_response_time_ms"], row["consecutive_failures"]) == (7, 50.0, 1)


def test_last_error_is_truncated_to_500_characters(kernel):
    translation.record_backend_failure("ollama", "é" * 499 + "XYZ")
    assert translation.get_backend_stat("ollama")["last_error"] == "é" * 499 + "X"
    assert translation.LAST_ERROR_MAX_LENGTH == 500


@pytest.mark.parametrize("text", TRICKY, ids=TRICKY_IDS)
def test_backend_strings_round_trip(kernel, text):
    translation.record_backend_failure(text, text)
    row = translation.get_backend_stat(text)
    assert row["backend_name"] == text and row["last_error"] == text[:500]


def test_backend_stats_lists_by_name(kernel):
    assert translation.get_backend_stats() == [] == translation.get_all_backend_stats()
    for name in ("ollama", "deepl", "Google"):
        translation.record_backend_success(name, 10, 1)
    assert [r["backend_name"] for r in translation.get_backend_stats()] == ["Google", "deepl", "ollama"]
    assert translation.get_all_backend_stats() == translation.get_backend_stats()
    assert translation.get_backend_stat("missing") is None


def test_reset_backend_stats_deletes_the_row(kernel):
    translation.record_backend_success("ollama", 10, 1)
    assert translation.reset_backend_stats("ollama") is True
    assert translation.get_backend_stat("ollama") is None
    assert translation.reset_backend_stats("ollama") is False
    translation.record_backend_success("ollama", 30, 1)
    assert translation.get_backend_stat("ollama")["avg_response_time_ms"] == 30.0


@pytest.mark.parametrize("args", [(None, 1, 1), ("", 1, 1), ("o", "100", 1), ("o", -1, 1), ("o", math.nan, 1),
                                  ("o", math.inf, 1), ("o", True, 1), ("o", 1, -1), ("o", 1, 1.5), ("o", 1, None),
                                  ("o", 1, 2**31)])
def test_record_backend_success_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.record_backend_success(*args)
    assert count(kernel, translation_backend_stats) == 0


@pytest.mark.parametrize("args", [(None, "e"), ("", "e"), ("o", None), ("o", 42), ("o", "e\x00")])
def test_record_backend_failure_bad_inputs(kernel, args):
    with pytest.raises(ValueError):
        translation.record_backend_failure(*args)
    assert count(kernel, translation_backend_stats) == 0


def test_concurrent_stats_lose_no_update(kernel):
    threads, calls = 8, 500

    def worker(i):
        times = []
        for n in range(calls):
            if n % 4 == 3:
                translation.record_backend_failure("ollama", f"e{i}-{n}")
            else:
                rt = float((i * calls + n) % 97 + 1)
                times.append(rt)
                translation.record_backend_success("ollama", rt, 3)
        return times

    with ThreadPoolExecutor(threads) as pool:
        times = [t for batch in pool.map(worker, range(threads)) for t in batch]
    row = translation.get_backend_stat("ollama")
    assert row["total_requests"] == threads * calls
    assert row["successful_translations"] == len(times) == threads * calls * 3 // 4
    assert row["failed_translations"] == threads * calls // 4
    assert row["total_characters"] == 3 * len(times)
    assert row["avg_response_time_ms"] == pytest.approx(sum(times) / len(times), rel=1e-9)


# == schema and migrations =========================================================================

def normalised_default(value):
    return None if value is None else value.split("::")[0].strip("()")


def described(engine, table):
    """Columns (name, type, NOT NULL outside the key, default), index and unique column sets."""
    insp = reflect(engine)
    columns = [(c["name"], str(c["type"]), bool(not c["nullable"] and not c.get("primary_key")),
                normalised_default(c["default"])) for c in insp.get_columns(table)]
    indexes = {i["name"]: tuple(i["column_names"]) for i in insp.get_indexes(table)}
    uniques = sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(table))
    return columns, indexes, uniques


def test_baseline_matches_the_legacy_ddl_on_sqlite(empty_database):
    compared = compare_with_legacy(empty_database, TABLES)  # every domain at head
    assert compared.ours == compared.legacy


def test_baseline_schema_on_both_dialects(kernel):
    real = "REAL" if kernel.storage.name == "sqlite" else "DOUBLE" if kernel.storage.name == "mariadb" else "DOUBLE PRECISION"
    keys = {"translation_config_history": HISTORY_KEYS, "glossary_entries": GLOSSARY_KEYS,
            "prompt_presets": PRESET_KEYS, "translation_backend_stats": BACKEND_KEYS}
    for table, names in keys.items():
        columns, _, _ = described(kernel.engine, table)
        assert [c[0] for c in columns] == names
    columns, indexes, uniques = described(kernel.engine, "translation_backend_stats")
    by_name = {c[0]: c for c in columns}
    assert by_name["avg_response_time_ms"][1] == real and by_name["total_requests"][1] == "INTEGER"
    assert by_name["last_error"][3] == "''" and by_name["total_requests"][3] == "0"
    assert indexes == {"idx_translation_backend_stats_updated": ("updated_at",)}
    assert described(kernel.engine, "glossary_entries")[1] == {
        "idx_glossary_series_id": ("series_id",), "idx_glossary_source_term": ("source_term",)}
    assert described(kernel.engine, "prompt_presets")[2] == [("name",)]
    assert described(kernel.engine, "translation_config_history")[2] == [("config_hash",)]


def test_legacy_now_defaults_fill_raw_inserts(kernel):
    with kernel.engine.begin() as conn:
        conn.execute(glossary_entries.insert().values(series_id=1, source_term="a", target_term="b"))
        conn.execute(translation_backend_stats.insert().values(backend_name="raw"))
    [entry] = translation.get_glossary_entries(1)
    assert len(entry["created_at"]) == 19 and entry["created_at"][10] == " " and entry["notes"] == ""
    row = translation.get_backend_stat("raw")
    assert row["total_requests"] == 0 and row["avg_response_time_ms"] == 0.0 and len(row["updated_at"]) == 19


def test_migrations_round_trip(storage, empty_database):
    k = boot(empty_database(storage))
    try:
        assert k.migrator.current()["translation"] == k.migrator.heads()["translation"] == "translation_0002"
        assert [s.revision for s in k.migrator.history("translation")] == ["translation_0002", "translation_0001"]
        k.migrator.downgrade("base", domain="translation")
        assert not set(TABLES) & set(inspect(k.engine).get_table_names())
        k.migrator.upgrade(domain="translation")
        assert k.migrator.current()["translation"] == "translation_0002"
        assert [p["name"] for p in translation.get_prompt_presets()] == ["Default"]
    finally:
        k.close()


def test_seed_downgrade_removes_only_the_untouched_seed(storage, empty_database):
    k = boot(empty_database(storage))
    try:
        k.migrator.downgrade("translation_0001", domain="translation")
        assert translation.get_prompt_presets() == []
        k.migrator.upgrade(domain="translation")
        default = translation.get_default_prompt_preset()
        translation.update_prompt_preset(default["id"], prompt_template="my own words")
        k.migrator.downgrade("translation_0001", domain="translation")
        assert [p["prompt_template"] for p in translation.get_prompt_presets()] == ["my own words"]
        k.migrator.upgrade(domain="translation")  # the table is not empty: nothing is seeded
        assert [p["prompt_template"] for p in translation.get_prompt_presets()] == ["my own words"]
    finally:
        k.close()


@pytest.mark.parametrize("with_presets", [False, True], ids=["empty", "has-presets"])
def test_an_adopted_legacy_database_gets_the_seed_only_when_it_has_no_preset(empty_database, with_presets):
    url = empty_database("sqlite")
    rows = ["INSERT INTO glossary_entries (series_id, source_term, target_term) VALUES (1, 'a', 'b')"]
    if with_presets:
        rows.append("INSERT INTO prompt_presets (name, prompt_template, is_default) VALUES ('Mine', 'legacy text', 1)")
    create_legacy_tables(url, TABLES, *rows)
    k = boot(url, auto_migrate=False)
    try:
        k.migrator.stamp({"translation": "translation_0001"})
        k.migrator.upgrade(domain="translation")
        assert k.migrator.current()["translation"] == "translation_0002"
        names = [p["name"] for p in translation.get_prompt_presets()]
        assert names == (["Mine"] if with_presets else ["Default"])
        assert [e["source_term"] for e in translation.get_glossary_entries(1)] == ["a"]
    finally:
        k.close()
