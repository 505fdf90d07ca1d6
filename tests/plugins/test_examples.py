"""The plugin author kit, proven by plugins the kernel does not know about.

The example packages under examples/ are found through their entry points (group ``sublarr``),
exactly as a stranger's plugin would be: tests/conftest.py gives them a throwaway ``.dist-info``
for the test run, so the tests install nothing into the user's environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata

import pytest
from sqlalchemy import inspect

from sublarr import Kernel, hookimpl
from sublarr.core.errors import SettingsError
from tests.conftest import IN_CI, STORAGES


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
        return True
    except metadata.PackageNotFoundError:
        return False


if not (_installed("sublarr-watchlist") and _installed("sublarr-tiered-cache")):
    reason = "example plugins not found (tests/conftest.py makes them findable for the test run)"
    if IN_CI:
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


def sublarr(*args, cwd, env=None, timeout=120):
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    for key, value in (env or {}).items():
        if key == "PYTHONPATH" and base.get(key):  # keep the examples' path (tests/conftest.py) behind it
            value = os.pathsep.join([value, base[key]])
        base[key] = value
    return subprocess.run([sys.executable, "-m", "sublarr.cli", *args], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=timeout)


def plugins_json(cwd, env=None) -> dict[str, dict]:
    result = sublarr("plugins", "--json", cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def test_examples_load_from_entry_points(tmp_path):
    plugins = plugins_json(tmp_path)
    watchlist = plugins["watchlist"]
    assert (watchlist["source"], watchlist["status"], watchlist["version"]) == ("entry point", "loaded", "1.0.0")
    assert watchlist["tables"] == ["watchlist_entries"]
    assert watchlist["migration_head"] == "watchlist_0002"
    assert watchlist["requires"] == ">=0.1,<1"
    assert set(watchlist["hooks"]) == {"sublarr_cli", "sublarr_domains", "sublarr_event", "sublarr_settings"}
    assert plugins["tiered-cache"]["hooks"] == ["sublarr_cache_drivers", "sublarr_settings"]


def test_example_cli_command_and_status(tmp_path):
    assert sublarr("watchlist", "add", "/tv/Show", "--label", "show", cwd=tmp_path).stdout.strip() == "1"
    listed = sublarr("watchlist", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert (entry["id"], entry["path_prefix"], entry["label"]) == (1, "/tv/Show", "show")
    assert "/tv/Show" in sublarr("watchlist", "list", cwd=tmp_path).stdout
    status = sublarr("status", "--json", cwd=tmp_path)
    schema = {s["domain"]: s for s in json.loads(status.stdout)["schema"]}
    assert schema["watchlist"]["revision"] == "watchlist_0002"
    assert "sublarr watchlist" not in sublarr("--help", cwd=tmp_path).stderr
    assert "watchlist" in sublarr("--help", cwd=tmp_path).stdout


@pytest.mark.parametrize("storage", STORAGES)
def test_example_migrations_apply_and_downgrade(storage, empty_database):
    url = empty_database(storage)
    with Kernel.boot(database_url=url, redis_url="", settings_files=[]) as kernel:
        assert "watchlist" in kernel.domains
        tables = set(inspect(kernel.engine).get_table_names())
        assert {"watchlist_entries", "alembic_version_watchlist", "wanted_items"} <= tables
        kernel.repo("watchlist").add_watch("/tv/A")
        kernel.migrator.downgrade("watchlist_0001", domain="watchlist")
        columns = {c["name"] for c in inspect(kernel.engine).get_columns("watchlist_entries")}
        assert "downloads" not in columns
        kernel.migrator.downgrade("base", domain="watchlist")
        tables_after = set(inspect(kernel.engine).get_table_names())
        assert "watchlist_entries" not in tables_after
        assert tables - {"watchlist_entries", "alembic_version_watchlist"} <= tables_after  # kernel tables untouched
        kernel.migrator.upgrade(domain="watchlist")
        assert kernel.repo("watchlist").get_watchlist() == []


def test_example_listener_setting_and_functions(tmp_path):
    with Kernel.boot(db_path=str(tmp_path / "w.db"), database_url="", redis_url="", settings_files=[],
                     watchlist_max_entries=2) as kernel:
        from sublarr_watchlist import add_watch, get_watchlist

        first = add_watch("/tv/A/")
        assert add_watch("/tv/A/") == first
        add_watch("/tv/B/")
        with pytest.raises(ValueError, match="watchlist is full"):
            add_watch("/tv/C/")
        kernel.emit("subtitle_downloaded", {"file_path": "/tv/A/S01E01.mkv", "provider_name": "x"})
        counts = {e["path_prefix"]: e["downloads"] for e in get_watchlist()}
        assert counts == {"/tv/A/": 1, "/tv/B/": 0}
    with pytest.raises(SettingsError, match="setting 'watchlist_max_entries': must be at least 1"):
        Kernel.boot(db_path=str(tmp_path / "w.db"), database_url="", settings_files=[], watchlist_max_entries=0)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_example_cache_driver_chosen_by_name(tmp_path, backend, request):
    extra = {"redis_url": request.getfixturevalue("redis_url")} if backend == "redis" else {"redis_url": ""}
    with Kernel.boot(db_path=str(tmp_path / "c.db"), database_url="", settings_files=[], cache_driver="tiered",
                     tiered_cache_backend=backend, **extra) as kernel:
        cache = kernel.cache
        assert cache.name == "tiered" and cache.l2.name == backend
        cache.set("k", "v", ttl_seconds=30)
        assert cache.get("k") == "v" and cache.l2.get("k") == "v"
        assert cache.clear("") >= 1
        assert cache.get("k") is None
    with pytest.raises(SettingsError, match="setting 'tiered_cache_backend'"):
        Kernel.boot(db_path=str(tmp_path / "c.db"), database_url="", settings_files=[], cache_driver="tiered",
                    tiered_cache_backend="nope")


def write_dist(site, name: str, module: str, source: str, version: str = "1.0") -> None:
    """A minimal installed distribution (dist-info with an entry point) on a PYTHONPATH folder."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[sublarr]\n{name} = {module}\n")


@pytest.fixture
def broken_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_dist(site, "broken-import", "broken_import_plugin", "import does_not_exist_anywhere\n")
    write_dist(site, "wrong-args", "wrong_args_plugin", """
        from sublarr import hookimpl
        @hookimpl
        def sublarr_event(kernel, evnt, payload):
            pass
    """)
    write_dist(site, "too-new", "too_new_plugin", """
        SUBLARR_REQUIRES = ">=5"
        from sublarr import hookimpl
        @hookimpl
        def sublarr_events():
            return []
    """)
    return site


def test_broken_plugins_do_not_stop_the_kernel(tmp_path, broken_site):
    env = {"PYTHONPATH": str(broken_site)}
    plugins = plugins_json(tmp_path, env)
    assert plugins["broken-import"]["status"] == "failed"
    assert "does_not_exist_anywhere" in plugins["broken-import"]["reason"]
    assert plugins["wrong-args"]["status"] == "failed" and "evnt" in plugins["wrong-args"]["reason"]
    assert plugins["too-new"]["status"] == "incompatible"
    assert "requires sublarr>=5" in plugins["too-new"]["reason"]
    assert plugins["watchlist"]["status"] == "loaded"
    status = sublarr("status", cwd=tmp_path, env=env)
    assert status.returncode == 0, status.stderr
    assert "plugin broken-import not loaded" in status.stderr


def test_load_plugins_allow_list(tmp_path):
    only_builtins = plugins_json(tmp_path, {"SUBLARR_LOAD_PLUGINS": "[]"})
    assert only_builtins["watchlist"]["status"] == "disabled"
    assert "load_plugins" in only_builtins["watchlist"]["reason"]
    assert only_builtins["config"]["status"] == "loaded"
    just_one = plugins_json(tmp_path, {"SUBLARR_LOAD_PLUGINS": "watchlist"})
    assert just_one["watchlist"]["status"] == "loaded" and just_one["tiered-cache"]["status"] == "disabled"
    blocked = plugins_json(tmp_path, {"SUBLARR_PLUGINS_DISABLED": "watchlist"})
    assert blocked["watchlist"]["status"] == "disabled"


class Throwaway:
    def __init__(self):
        self.booted = []

    @hookimpl
    def sublarr_boot(self, kernel):
        self.booted.append(kernel)


def test_author_fixtures(sublarr_kernel, sublarr_plugin):
    assert sublarr_kernel.storage.name in ("sqlite", "postgresql")
    plugin = Throwaway()
    kernel = sublarr_plugin(plugin)
    assert plugin.booted == [kernel]
    runtime = [i for i in kernel.plugins.info.values() if i.source == "runtime"]
    assert [i.hooks for i in runtime] == [["sublarr_boot"]]
