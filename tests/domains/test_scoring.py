"""scoring domain: weights with defaults and overrides, provider modifiers, migrations."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import inspect, select

import sublarr.plugins.scoring as scoring
from sublarr.plugins.scoring import (
    _DEFAULT_EPISODE_WEIGHTS,
    _DEFAULT_MOVIE_WEIGHTS,
    DEFAULT_EPISODE_WEIGHTS,
    DEFAULT_MOVIE_WEIGHTS,
    delete_provider_modifier,
    get_all_provider_modifiers,
    get_all_scoring_weights,
    get_effective_weights,
    get_provider_modifier,
    get_scoring_weights,
    reset_scoring_weights,
    set_provider_modifier,
    set_scoring_weights,
)
from sublarr.plugins.scoring.models import provider_score_modifiers as modifiers
from sublarr.plugins.scoring.models import scoring_weights as weights
from tests.conftest import boot
from tests.domains.schema import at_revision, compare_with_legacy, describe, model_drift

EPISODE = {"hash": 359, "series": 180, "year": 90, "season": 30, "episode": 30, "release_group": 14,
           "source": 7, "audio_codec": 3, "resolution": 2, "hearing_impaired": 1, "format_bonus": 50}
MOVIE = {"hash": 119, "title": 60, "year": 30, "release_group": 13, "source": 7, "audio_codec": 3,
         "resolution": 2, "hearing_impaired": 1, "format_bonus": 50}

TABLES = ("scoring_weights", "provider_score_modifiers")

STRINGS = ["it's \"quoted\"", "100% _match_ \\ esc", "Ünïcödé 字幕 🎬", "k" * 1200]  # indexed (composite) keys: <= 2600 bytes together


def weight_rows(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(weights).order_by(weights.c.id)).mappings()]


def modifier_rows(kernel) -> list[dict]:
    with kernel.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(modifiers).order_by(modifiers.c.provider_name)).mappings()]


# -- constants -------------------------------------------------------------------------------------

def test_default_weights_have_the_legacy_values_and_order():
    assert list(_DEFAULT_EPISODE_WEIGHTS.items()) == list(EPISODE.items())
    assert list(_DEFAULT_MOVIE_WEIGHTS.items()) == list(MOVIE.items())
    assert DEFAULT_EPISODE_WEIGHTS == _DEFAULT_EPISODE_WEIGHTS
    assert DEFAULT_MOVIE_WEIGHTS == _DEFAULT_MOVIE_WEIGHTS
    assert {"_DEFAULT_EPISODE_WEIGHTS", "DEFAULT_MOVIE_WEIGHTS"} <= set(scoring.__all__)


def test_functions_never_mutate_the_defaults(kernel):
    before = copy.deepcopy((_DEFAULT_EPISODE_WEIGHTS, _DEFAULT_MOVIE_WEIGHTS))
    set_scoring_weights("episode", {"hash": 1, "extra": 5})
    set_scoring_weights("movie", {"title": 2})
    effective = get_effective_weights("episode")
    effective["hash"] = 999
    get_all_scoring_weights()["movie"]["title"] = 999
    reset_scoring_weights()
    assert before == (_DEFAULT_EPISODE_WEIGHTS, _DEFAULT_MOVIE_WEIGHTS)


# -- weights ---------------------------------------------------------------------------------------

def test_overrides_are_returned_alone_in_the_order_first_set(kernel):
    assert get_scoring_weights("episode") == {}
    set_scoring_weights("episode", {"series": 100, "hash": 300})
    set_scoring_weights("episode", {"year": 5, "series": 101})
    assert list(get_scoring_weights("episode").items()) == [("series", 101), ("hash", 300), ("year", 5)]
    assert kernel.repo("scoring").get_scoring_weights("movie") == {}


def test_values_go_through_int_like_legacy(kernel):
    set_scoring_weights("episode", {"hash": "12", "series": 7.9, "year": -3, "season": " 4 "})
    assert get_scoring_weights("episode") == {"hash": 12, "series": 7, "year": -3, "season": 4}


def test_update_keeps_the_row_id(kernel):
    set_scoring_weights("episode", {"hash": 1, "series": 2})
    before = {r["weight_key"]: r for r in weight_rows(kernel)}
    set_scoring_weights("episode", {"hash": 10})
    after = {r["weight_key"]: r for r in weight_rows(kernel)}
    assert after["hash"]["id"] == before["hash"]["id"]  # legacy INSERT OR REPLACE gave a new id
    assert after["hash"]["weight_value"] == 10 and after["series"] == before["series"]
    assert after["hash"]["updated_at"] >= before["hash"]["updated_at"]
    assert list(after["hash"]) == ["id", "score_type", "weight_key", "weight_value", "updated_at"]


def test_a_bad_value_changes_nothing(kernel):
    set_scoring_weights("episode", {"hash": 1})
    before = weight_rows(kernel)
    with pytest.raises(ValueError, match="series"):
        set_scoring_weights("episode", {"hash": 2, "year": 3, "series": "lots", "season": 4})
    assert weight_rows(kernel) == before


@pytest.mark.parametrize("score_type, mapping", [
    (None, {"hash": 1}), ("", {"hash": 1}), (1, {"hash": 1}), ("episode", [("hash", 1)]),
    ("episode", None), ("episode", {"hash": None}), ("episode", {"hash": "1.5"}), ("episode", {"hash": [1]}),
    ("episode", {"hash": float("nan")}), ("episode", {"hash": float("inf")}), ("episode", {"hash": 2**63}),
    ("episode", {1: 1}), ("episode", {"": 1}), ("episode", {"ok": 1, None: 2}), ("epi\x00sode", {"hash": 1}),
])
def test_bad_weights_raise_and_write_nothing(kernel, score_type, mapping):
    with pytest.raises(ValueError):
        set_scoring_weights(score_type, mapping)
    assert weight_rows(kernel) == []


def test_empty_mapping_is_a_no_op(kernel):
    set_scoring_weights("episode", {})
    assert weight_rows(kernel) == []


def test_score_type_is_free_text_for_storage(kernel):
    set_scoring_weights("anime", {"hash": 5})
    assert get_scoring_weights("anime") == {"hash": 5}
    assert get_scoring_weights("ANIME") == {}
    assert get_all_scoring_weights() == {"episode": EPISODE, "movie": MOVIE}


def test_effective_weights_merge_overrides_over_defaults(kernel):
    assert get_effective_weights("episode") == EPISODE
    assert kernel.repo("scoring").get_effective_weights("movie") == MOVIE
    set_scoring_weights("episode", {"extra_key": 9, "hash": 400})
    effective = get_effective_weights("episode")
    assert list(effective) == [*EPISODE, "extra_key"]
    assert effective["hash"] == 400 and effective["extra_key"] == 9 and effective["series"] == 180
    assert get_effective_weights("movie") == MOVIE


@pytest.mark.parametrize("score_type", ["anime", "Episode", "", None, 1])
def test_effective_weights_need_a_known_type(kernel, score_type):
    with pytest.raises(ValueError):
        get_effective_weights(score_type)


def test_all_weights_is_both_types_merged(kernel):
    set_scoring_weights("movie", {"title": 61, "custom": 1})
    result = get_all_scoring_weights()
    assert list(result) == ["episode", "movie"]
    assert result["episode"] == EPISODE
    assert result["movie"] == {**MOVIE, "title": 61, "custom": 1}
    assert list(result["movie"])[-1] == "custom"


def test_reset_one_type_or_all(kernel):
    set_scoring_weights("episode", {"hash": 1})
    set_scoring_weights("movie", {"hash": 2})
    set_scoring_weights("anime", {"hash": 3})
    reset_scoring_weights("episode")
    assert get_scoring_weights("episode") == {} and get_scoring_weights("movie") == {"hash": 2}
    reset_scoring_weights("nothing-here")
    reset_scoring_weights("")  # legacy truthiness: "" resets everything
    assert weight_rows(kernel) == []
    set_scoring_weights("movie", {"hash": 2})
    kernel.repo("scoring").reset_scoring_weights()
    assert weight_rows(kernel) == []


@pytest.mark.parametrize("call", [
    lambda: reset_scoring_weights(5), lambda: get_scoring_weights(None), lambda: get_scoring_weights(""),
])
def test_bad_score_type_raises(kernel, call):
    set_scoring_weights("episode", {"hash": 1})
    with pytest.raises(ValueError):
        call()
    assert get_scoring_weights("episode") == {"hash": 1}


@pytest.mark.parametrize("text", STRINGS)
def test_weight_strings_round_trip(kernel, text):
    set_scoring_weights(text, {text: 1, "plain": 2})
    assert get_scoring_weights(text) == {text: 1, "plain": 2}


def test_concurrent_weight_updates_keep_one_row_per_key(kernel):
    set_scoring_weights("episode", {"hash": 0, "series": 0})
    ids = {r["weight_key"]: r["id"] for r in weight_rows(kernel)}
    start = threading.Barrier(8)

    def write(worker):
        start.wait()
        for i in range(100):
            set_scoring_weights("episode", {"hash": worker, "series": i, f"w{worker}": i})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    stored = weight_rows(kernel)
    assert len(stored) == 2 + 8
    assert {r["weight_key"]: r["id"] for r in stored if r["weight_key"] in ids} == ids
    assert get_scoring_weights("episode")["series"] == 99
    assert all(get_scoring_weights("episode")[f"w{w}"] == 99 for w in range(8))


# -- provider modifiers ----------------------------------------------------------------------------

def test_modifier_defaults_to_zero(kernel):
    assert get_provider_modifier("opensubtitles") == 0
    assert kernel.repo("scoring").get_provider_modifier("") == 0


def test_set_get_overwrite_delete_modifier(kernel):
    set_provider_modifier("opensubtitles", 25)
    set_provider_modifier("subdl", "-10")
    assert get_provider_modifier("opensubtitles") == 25
    assert get_provider_modifier("subdl") == -10
    set_provider_modifier("opensubtitles", 3.9)
    assert get_provider_modifier("opensubtitles") == 3
    assert [r["provider_name"] for r in modifier_rows(kernel)] == ["opensubtitles", "subdl"]
    assert list(modifier_rows(kernel)[0]) == ["provider_name", "modifier", "updated_at"]
    delete_provider_modifier("opensubtitles")
    delete_provider_modifier("opensubtitles")  # no error when missing
    kernel.repo("scoring").delete_provider_modifier("never-set")
    assert get_provider_modifier("opensubtitles") == 0
    assert get_all_provider_modifiers() == {"subdl": -10}


def test_all_modifiers_are_ordered_by_name_in_code_point_order(kernel):
    for name, value in [("b", 1), ("a", 2), ("Z", 3), ("_x", 4), ("B", 5), ("ä", 6)]:
        set_provider_modifier(name, value)
    result = get_all_provider_modifiers()
    assert list(result) == ["B", "Z", "_x", "a", "b", "ä"]  # identical on both dialects
    assert result == {"B": 5, "Z": 3, "_x": 4, "a": 2, "b": 1, "ä": 6}
    assert kernel.repo("scoring").get_all_provider_modifiers() == result


def test_no_modifiers_is_an_empty_dict(kernel):
    assert get_all_provider_modifiers() == {}


@pytest.mark.parametrize("name, modifier", [
    (None, 1), ("", 1), (5, 1), ("p", None), ("p", "ten"), ("p", [1]), ("p", float("nan")), ("p", -(2**63) - 1),
])
def test_bad_modifier_raises_and_writes_nothing(kernel, name, modifier):
    with pytest.raises(ValueError):
        set_provider_modifier(name, modifier)
    assert modifier_rows(kernel) == []


@pytest.mark.parametrize("call", [lambda: get_provider_modifier(None), lambda: delete_provider_modifier(3)])
def test_bad_provider_name_raises(kernel, call):
    set_provider_modifier("p", 1)
    with pytest.raises(ValueError):
        call()
    assert get_all_provider_modifiers() == {"p": 1}


@pytest.mark.parametrize("text", STRINGS)
def test_provider_names_round_trip(kernel, text):
    set_provider_modifier(text, 7)
    assert get_provider_modifier(text) == 7
    assert get_all_provider_modifiers() == {text: 7}
    delete_provider_modifier(text)
    assert get_all_provider_modifiers() == {}


def test_concurrent_modifier_writes_keep_one_row(kernel):
    def write(worker):
        for i in range(100):
            set_provider_modifier("shared", worker * 1000 + i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(8)))
    stored = modifier_rows(kernel)
    assert len(stored) == 1 and stored[0]["modifier"] % 1000 == 99


# -- package ---------------------------------------------------------------------------------------

def test_package_exports_legacy_and_new_functions():
    assert {"get_scoring_weights", "set_scoring_weights", "get_all_scoring_weights", "reset_scoring_weights",
            "get_provider_modifier", "get_all_provider_modifiers", "set_provider_modifier",
            "delete_provider_modifier", "get_effective_weights"} <= set(scoring.__all__)


# -- migrations ------------------------------------------------------------------------------------

def test_sqlite_baseline_reproduces_the_legacy_tables(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, "scoring", "scoring_0001")
    assert compared.ours == compared.legacy


def test_postgresql_baseline_has_the_legacy_columns(empty_database):
    url = empty_database("postgresql")
    at_revision(url, "scoring", "scoring_0001").close()
    weights_table = describe(url, "scoring_weights")
    assert [c[:3] for c in weights_table["columns"]] == [
        ("id", "INTEGER", False), ("score_type", "TEXT", False), ("weight_key", "TEXT", False),
        ("weight_value", "INTEGER", False), ("updated_at", "TEXT", False)]
    assert "to_char" in weights_table["columns"][4][3]
    assert weights_table["unique"] == [["score_type", "weight_key"]]
    modifiers_table = describe(url, "provider_score_modifiers")
    assert [c[:4] for c in modifiers_table["columns"][:2]] == [
        ("provider_name", "TEXT", False, None), ("modifier", "INTEGER", False, "0")]
    assert modifiers_table["pk"] == ["provider_name"]


def test_models_match_the_migrated_schema(kernel):
    assert model_drift(kernel, TABLES) == []


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_empty_to_head_to_base_to_head(empty_database, dialect):
    k = boot(empty_database(dialect))
    try:
        assert k.migrator.current()["scoring"] == k.migrator.heads()["scoring"] == "scoring_0001"
        set_scoring_weights("episode", {"hash": 1})
        set_provider_modifier("p", 1)
        k.migrator.downgrade("base", domain="scoring")
        assert k.migrator.current()["scoring"] is None
        assert not {"scoring_weights", "provider_score_modifiers"} & set(inspect(k.engine).get_table_names())
        k.migrator.upgrade(domain="scoring")
        assert get_all_scoring_weights() == {"episode": EPISODE, "movie": MOVIE}
        assert get_all_provider_modifiers() == {}
        set_scoring_weights("episode", {"hash": 2})
        assert get_scoring_weights("episode") == {"hash": 2}
    finally:
        k.close()


def test_server_defaults_fill_the_legacy_timestamp_format(kernel):
    with kernel.engine.begin() as conn:
        conn.execute(modifiers.insert().values(provider_name="raw"))
    stored = modifier_rows(kernel)[0]
    assert stored["modifier"] == 0
    assert len(stored["updated_at"]) == 19 and stored["updated_at"][10] == " "  # datetime('now') format
