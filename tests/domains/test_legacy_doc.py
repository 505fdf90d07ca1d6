"""docs/legacy.md and the code stay in step.

Every ``domain.function`` the page names is a package-level function; every row of its tables
(duplicates, new return values, refused negative durations) is called on a scratch database of each
engine, so a row without a check here, or a check without a row, fails.
"""

from __future__ import annotations

import importlib
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect

from sublarr.plugins import cache, hooks, plugin_config, profiles, providers, standalone, translation, whisper

DOC = (Path(__file__).resolve().parents[2] / "docs" / "legacy.md").read_text()
FLAT = " ".join(DOC.split())  # prose without its line breaks
DOMAINS = sorted(p.parent.name for p in Path(importlib.import_module("sublarr.plugins").__file__).parent
                 .glob("*/__init__.py"))
REFERENCE = re.compile(r"`(\w+)\.(\w+)`")


def table_after(header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose header row starts with ``header`` (cells stripped)."""
    lines = DOC[DOC.index(header):].splitlines()[1:]
    rows: list[list[str]] = []
    for line in lines:
        line = line.strip()
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 1 and set(rows[0][0]) == {"-"}, f"no table under {header!r}"
    return rows[1:]


def code(cell: str) -> str:
    """The first `code` span of a cell."""
    return re.search(r"`([^`]+)`", cell).group(1)


def resolve(name: str) -> Callable:
    domain, function = name.split(".")
    return getattr(importlib.import_module(f"sublarr.plugins.{domain}"), function)


def test_every_function_the_page_names_is_a_package_level_function():
    named = {f"{d}.{f}" for d, f in REFERENCE.findall(DOC) if d in DOMAINS}
    assert len(named) >= 40  # the parsing found the page's references
    missing = sorted(n for n in named if not callable(getattr(importlib.import_module(
        f"sublarr.plugins.{n.split('.')[0]}"), n.split(".")[1], None)))
    assert missing == []


# -- duplicates --------------------------------------------------------------------------------------

def _profile(name: str) -> int:
    return profiles.create_language_profile(name, "en", "English", ["de"], ["German"])


# function -> (make the key taken, the call that hits it)
DUPLICATES: dict[str, tuple[Callable[[], object], Callable[[object], object]]] = {
    "profiles.create_language_profile": (lambda: _profile("A"), lambda _: _profile("A")),
    "profiles.update_language_profile": (lambda: (_profile("A"), _profile("B")),
                                         lambda ids: profiles.update_language_profile(ids[1], name="A")),
    "whisper.create_whisper_job": (lambda: whisper.create_whisper_job("j", "/a.mkv"),
                                   lambda _: whisper.create_whisper_job("j", "/b.mkv")),
    "translation.add_prompt_preset": (lambda: translation.add_prompt_preset("P", "t"),
                                      lambda _: translation.add_prompt_preset("P", "u")),
    "translation.update_prompt_preset": (lambda: translation.add_prompt_preset("P", "t"),
                                         lambda _: translation.update_prompt_preset(
                                             translation.get_default_prompt_preset()["id"], name="P")),
    "standalone.update_watched_folder": (lambda: (standalone.upsert_watched_folder("/a"),
                                                  standalone.upsert_watched_folder("/b")),
                                         lambda ids: standalone.update_watched_folder(ids[1], path="/a")),
}


def test_the_duplicates_table_lists_what_is_checked():
    assert {code(row[0]) for row in table_after("| function | raised when |")} == set(DUPLICATES)


@pytest.mark.parametrize("row", table_after("| function | raised when |"), ids=lambda row: code(row[0]))
def test_each_documented_duplicate_is_caught_as_legacy_code_catches_it(kernel, row):
    function, message = code(row[0]), code(row[2])
    table, column = message.rsplit(": ", 1)[1].split(".")
    assert column in {c["name"] for c in inspect(kernel.engine).get_columns(table)}
    setup, call = DUPLICATES[function]
    taken = setup()
    with pytest.raises(sqlite3.IntegrityError) as caught:
        call(taken)
    assert str(caught.value).startswith(message) and isinstance(caught.value, ValueError)


# -- functions that now return a value ---------------------------------------------------------------

RETURNS: dict[str, Callable[[], object]] = {
    "providers.record_subtitle_download": lambda: providers.record_subtitle_download(
        "p", "s1", "de", "srt", "/a.mkv", 80),
    "providers.cleanup_expired_cache": providers.cleanup_expired_cache,
    "providers.clear_provider_cache": lambda: providers.clear_provider_cache("p"),
    "providers.clear_auto_disable": lambda: providers.clear_auto_disable("p"),
    "profiles.update_language_profile": lambda: profiles.update_language_profile(
        profiles.get_default_profile()["id"], name="Renamed"),
}
TYPES = {"int": int, "bool": bool}


def test_the_returns_table_lists_what_is_checked():
    assert {code(row[0]) for row in table_after("| function | legacy | now |")} == set(RETURNS)


@pytest.mark.parametrize("row", table_after("| function | legacy | now |"), ids=lambda row: code(row[0]))
def test_each_function_that_returned_none_returns_the_documented_type(kernel, row):
    function, legacy = code(row[0]), row[1]
    expected = TYPES[re.findall(r"`(\w+)`", row[2])[-1]]
    assert legacy == "None"
    providers.cache_provider_results("p", "q", "[]")
    result = RETURNS[function]()
    assert type(result) is expected, f"{function} returned {result!r}"


# -- refused negative durations ------------------------------------------------------------------------

# function -> keyword arguments of a valid call (the documented parameter is then set to -1)
DURATIONS: dict[str, dict] = {
    "providers.cache_provider_results": {"provider_name": "p", "query_hash": "q", "results_json": "[]",
                                         "ttl_hours": 1},
    "providers.auto_disable_provider": {"provider_name": "p", "cooldown_minutes": 1},
    "standalone.cache_metadata": {"cache_key": "tmdb:tv:1", "provider": "tmdb", "response_json": "{}",
                                  "ttl_days": 1},
    "cache.cleanup_old_anidb_mappings": {"days": 1},
}


def test_the_durations_table_lists_what_is_checked():
    assert {code(row[0]) for row in table_after("| function | parameter |")} == set(DURATIONS)


@pytest.mark.parametrize("row", table_after("| function | parameter |"), ids=lambda row: code(row[0]))
def test_each_documented_negative_duration_is_refused(kernel, row):
    function, parameter = code(row[0]), code(row[1])
    valid = DURATIONS[function]
    assert parameter in valid
    resolve(function)(**valid)  # the valid call works
    with pytest.raises(ValueError, match=parameter):
        resolve(function)(**{**valid, parameter: -1})


# -- the other listed differences ----------------------------------------------------------------------

def test_provider_names_with_a_dot_are_refused_by_plugin_config(kernel):
    assert "a provider name containing `.` in `plugin_config.set_plugin_config`" in FLAT
    plugin_config.set_plugin_config("a", "b.key", "secret-of-a")
    for call in (lambda: plugin_config.set_plugin_config("a.b", "key", "v"),
                 lambda: plugin_config.get_plugin_config("a.b"),
                 lambda: plugin_config.delete_plugin_config("a.b")):
        with pytest.raises(ValueError, match="provider_name must not contain '.'"):
            call()
    assert plugin_config.get_plugin_config("a") == {"b.key": "secret-of-a"}


def test_deleting_a_hook_config_removes_its_logs(kernel):
    assert "`hooks.delete_hook_config` and `hooks.delete_webhook_config` remove the hook's logs too" in FLAT
    hook = hooks.create_hook_config("n", "subtitle_downloaded", "/hooks/a.sh")
    other = hooks.create_hook_config("m", "subtitle_downloaded", "/hooks/b.sh")
    for hook_id in (hook["id"], other["id"]):
        hooks.log_hook_execution(hook_id=hook_id, event_name="subtitle_downloaded", hook_type="script")
    assert hooks.delete_hook_config(hook["id"]) is None  # the legacy return, kept
    assert hooks.get_hook_logs(hook_id=hook["id"]) == []
    assert len(hooks.get_hook_logs(hook_id=other["id"])) == 1


def test_a_negative_anidb_cleanup_no_longer_deletes_every_mapping(kernel):
    assert "the legacy `cleanup_old_anidb_mappings(days=-1)` deleted every mapping" in FLAT
    cache.save_anidb_mapping(1, 2, "Show")
    with pytest.raises(ValueError, match="days"):
        cache.cleanup_old_anidb_mappings(days=-1)
    assert cache.get_anidb_mapping(1) == 2
