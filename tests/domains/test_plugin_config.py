"""plugin_config domain: ``plugin.<provider>.<key>`` entries in config_entries, matched literally."""

from __future__ import annotations

import pytest

import sublarr.plugins.plugin_config as plugin_config
from sublarr.plugins.config import get_all_config_entries, get_config_entry, save_config_entry
from sublarr.plugins.plugin_config import (
    delete_plugin_config,
    get_all_plugin_configs,
    get_plugin_config,
    set_plugin_config,
)

STRINGS = ["it's \"quoted\"", "100% _match_ \\ esc", "Ünïcödé 字幕 🎬", "v" * 10_240]


def test_set_and_get_one_provider(kernel):
    assert get_plugin_config("opensubtitles") == {}
    set_plugin_config("opensubtitles", "api_key", "secret")
    set_plugin_config("opensubtitles", "username", "me")
    kernel.repo("plugin_config").set_plugin_config("subdl", "api_key", "other")
    assert get_plugin_config("opensubtitles") == {"api_key": "secret", "username": "me"}
    assert kernel.repo("plugin_config").get_plugin_config("subdl") == {"api_key": "other"}
    assert get_config_entry("plugin.opensubtitles.api_key") == "secret"


def test_set_replaces_the_value(kernel):
    set_plugin_config("p", "k", "one")
    set_plugin_config("p", "k", "two")
    assert get_plugin_config("p") == {"k": "two"}
    assert list(get_all_config_entries()) == ["plugin.p.k"]


def test_keys_are_returned_in_key_order(kernel):
    for key in ["b", "a", "C", "_z"]:
        set_plugin_config("p", key, key)
    assert list(get_plugin_config("p")) == ["C", "_z", "a", "b"]


def test_keys_may_contain_dots(kernel):
    set_plugin_config("whisper", "subgen.url", "http://x")
    assert get_plugin_config("whisper") == {"subgen.url": "http://x"}
    assert get_all_plugin_configs() == {"whisper": {"subgen.url": "http://x"}}


@pytest.mark.parametrize("name, others", [
    ("a_b", ["aXb", "a_bc", "ab"]),
    ("a%", ["ab", "a%b", "a"]),
    ("Open", ["open", "OPEN", "Opener"]),
])
def test_wildcards_and_case_never_reach_another_provider(kernel, name, others):
    # legacy LIKE 'plugin.<name>.%' read and deleted these other providers' keys
    set_plugin_config(name, "mine", "1")
    for other in others:
        set_plugin_config(other, "theirs", other)
    save_config_entry(f"PLUGIN.{name}.upper", "not a plugin key")
    assert get_plugin_config(name) == {"mine": "1"}
    assert delete_plugin_config(name) == 1
    assert get_plugin_config(name) == {}
    for other in others:
        assert get_plugin_config(other) == {"theirs": other}
    assert get_config_entry(f"PLUGIN.{name}.upper") == "not a plugin key"


def test_get_all_groups_by_provider(kernel):
    set_plugin_config("b", "x", "1")
    set_plugin_config("a", "y", "2")
    set_plugin_config("a", "x.y", "3")
    save_config_entry("plugin.nodot", "skipped: no provider/key split")
    save_config_entry("PLUGIN.c.x", "not plugin.*")
    save_config_entry("target_language", "de")
    result = get_all_plugin_configs()
    assert result == {"a": {"x.y": "3", "y": "2"}, "b": {"x": "1"}}
    assert list(result) == ["a", "b"]
    assert kernel.repo("plugin_config").get_all_plugin_configs() == result


def test_get_all_splits_legacy_dotted_provider_names_at_the_first_dot(kernel):
    # a row a legacy caller wrote for provider "a.b": parsed as legacy did
    save_config_entry("plugin.a.b.key", "v")
    assert get_all_plugin_configs() == {"a": {"b.key": "v"}}


def test_get_all_is_empty_without_plugin_keys(kernel):
    save_config_entry("plugin_something", "x")
    assert get_all_plugin_configs() == {}


def test_delete_returns_the_count_and_only_touches_that_provider(kernel):
    assert delete_plugin_config("p") == 0
    for key in "abc":
        set_plugin_config("p", key, key)
    set_plugin_config("q", "a", "a")
    save_config_entry("p.a", "not a plugin key")
    assert kernel.repo("plugin_config").delete_plugin_config("p") == 3
    assert get_all_plugin_configs() == {"q": {"a": "a"}}
    assert get_config_entry("p.a") == "not a plugin key"


@pytest.mark.parametrize("text", STRINGS)
def test_strings_round_trip(kernel, text):
    # names and keys are the primary key of config_entries: 10 kB only for the value
    # (a PostgreSQL btree entry holds at most ~2.7 kB)
    name, key = text[:200].replace(".", ""), text[:200]
    set_plugin_config(name, key, text)
    assert get_plugin_config(name) == {key: text}
    assert get_all_plugin_configs() == {name: {key: text}}
    assert delete_plugin_config(name) == 1


@pytest.mark.parametrize("name", [None, "", 5, "a.b", ".", "a\x00"])
def test_bad_provider_name_raises_everywhere(kernel, name):
    set_plugin_config("a", "b.x", "keep")
    for call in (lambda: get_plugin_config(name), lambda: set_plugin_config(name, "k", "v"),
                 lambda: delete_plugin_config(name)):
        with pytest.raises(ValueError):
            call()
    assert get_all_config_entries() == {"plugin.a.b.x": "keep"}


@pytest.mark.parametrize("key, value", [(None, "v"), ("", "v"), (1, "v"), ("k", None), ("k", 5), ("k", "v\x00")])
def test_bad_key_or_value_raises_and_writes_nothing(kernel, key, value):
    with pytest.raises(ValueError):
        set_plugin_config("p", key, value)
    assert get_all_config_entries() == {}


def test_package_exports_the_legacy_functions():
    assert set(plugin_config.__all__) == {"get_plugin_config", "set_plugin_config", "get_all_plugin_configs",
                                          "delete_plugin_config"}


def test_domain_owns_no_table_and_needs_config(kernel):
    domain = kernel.domains["plugin_config"]
    assert list(domain.tables) == [] and domain.migrations is None
    assert tuple(domain.requires) == ("config",)
