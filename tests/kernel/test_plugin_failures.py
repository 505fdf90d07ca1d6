"""A plugin that misbehaves never takes the kernel down, run as a user would meet it.

Each failure mode installs a broken plugin (an entry point in group ``sublarr``, found through a
``*.dist-info`` folder on PYTHONPATH) beside a good one, then checks that `sublarr plugins --json`
lists it with its status and reason and exits 0, that `sublarr status` boots and exits 0, and that
the good plugin still works (its ``sublarr_boot`` wrote a file, its event is in the catalog).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GOOD = """
from pathlib import Path
from sublarr import hookimpl
from sublarr.core.events import EventType

@hookimpl
def sublarr_events():
    return [EventType("good_event", "Good", "an event of the good plugin")]

@hookimpl
def sublarr_boot(kernel):
    Path("good-booted").write_text(kernel.storage.name)
"""

HEADER = "import sys\nfrom sublarr import hookimpl\n"


def raising(hook: str, args: str = "", exc: str = "RuntimeError('boom')") -> str:
    return HEADER + f"@hookimpl\ndef {hook}({args}):\n    raise {exc}\n"


def install(site: Path, name: str, source: str) -> None:
    """A module ``<name>_plugin`` with an entry point ``name`` in group ``sublarr``."""
    module = f"{name.replace('-', '_')}_plugin"
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[sublarr]\n{name} = {module}\n")


def sublarr(*args: str, cwd: Path, site: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_")}
    base["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    base["SUBLARR_LOAD_PLUGINS"] = "good,bad"
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "sublarr.cli", *args], cwd=cwd, env=base, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    install(site, "good", GOOD)
    return site


def listed(result: subprocess.CompletedProcess) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)}


def check_isolated(tmp_path: Path, site: Path, status: str, *reason: str, listing_boots: bool = False) -> dict:
    """The bad plugin is listed with ``status`` and a reason containing ``reason``; boot goes on."""
    work = tmp_path / "work"
    work.mkdir()
    booted = sublarr("status", "--json", cwd=work, site=site)
    assert booted.returncode == 0, booted.stderr
    plugins = {p["name"]: p for p in json.loads(booted.stdout)["plugins"]}
    if not listing_boots:  # failures before storage opens show in `sublarr plugins` too
        plugins = listed(sublarr("plugins", "--json", cwd=work, site=site))
        assert "bad" in sublarr("plugins", cwd=work, site=site).stdout
    bad = plugins["bad"]
    assert bad["status"] == status, bad
    for fragment in reason:
        assert fragment in bad["reason"], bad["reason"]
    assert plugins["good"]["status"] == "loaded"
    assert (work / "good-booted").read_text() == "sqlite", "the good plugin's sublarr_boot ran"
    assert "good_event" in sublarr("events", cwd=work, site=site).stdout
    if status == "failed":
        assert "plugin bad" in booted.stderr, "the warning names the plugin"
    assert "Traceback" not in booted.stderr
    return bad


@pytest.mark.parametrize("hook", ["sublarr_settings", "sublarr_storage_drivers", "sublarr_cache_drivers",
                                  "sublarr_queue_drivers", "sublarr_domains", "sublarr_events", "sublarr_cli"])
def test_a_registration_hook_that_raises(tmp_path, site, hook):
    install(site, "bad", raising(hook, "cli" if hook == "sublarr_cli" else ""))
    check_isolated(tmp_path, site, "failed", f"{hook} raised RuntimeError: boom")


def test_boot_hook_that_raises(tmp_path, site):
    install(site, "bad", raising("sublarr_boot", "kernel"))
    check_isolated(tmp_path, site, "failed", "sublarr_boot raised RuntimeError: boom", listing_boots=True)


def test_shutdown_hook_that_raises(tmp_path, site):
    install(site, "bad", raising("sublarr_shutdown", "kernel", "SystemExit(4)"))
    work = tmp_path / "work"
    work.mkdir()
    result = sublarr("status", cwd=work, site=site)
    assert result.returncode == 0, result.stderr
    assert "plugin bad failed" in result.stderr and "sublarr_shutdown raised SystemExit: 4" in result.stderr


@pytest.mark.parametrize(("source", "reason"), [
    (HEADER + "@hookimpl\ndef sublarr_domains():\n    return ['not a domain']\n",
     "sublarr_domains returned 'not a domain' in its list, not a Domain"),
    (HEADER + "@hookimpl\ndef sublarr_settings():\n    return {'a': 1}\n",
     "sublarr_settings returned dict {'a': 1}, not a list of Setting"),
    (HEADER + "from sublarr.drivers.base import CacheDriver\nclass Half(CacheDriver):\n    name = 'half'\n"
              "@hookimpl\ndef sublarr_cache_drivers():\n    return [Half]\n",
     "returned driver Half, which has no name or leaves abstract methods"),
    (HEADER + "@hookimpl\ndef sublarr_storage_drivers():\n    return [object]\n",
     "not a StorageDriver subclass"),
], ids=["domain-list-of-str", "settings-dict", "abstract-driver", "not-a-driver"])
def test_a_hook_that_returns_the_wrong_type(tmp_path, site, source, reason):
    install(site, "bad", source)
    check_isolated(tmp_path, site, "failed", reason)


def test_system_exit_at_import(tmp_path, site):
    install(site, "bad", "import sys\nsys.exit(3)\n")
    check_isolated(tmp_path, site, "failed", "import raised SystemExit: 3")


def test_system_exit_in_a_hook(tmp_path, site):
    install(site, "bad", raising("sublarr_domains", exc="SystemExit(3)"))
    check_isolated(tmp_path, site, "failed", "sublarr_domains raised SystemExit: 3")


def test_a_misspelled_hook(tmp_path, site):
    install(site, "bad", HEADER + "@hookimpl\ndef sublarr_domain():\n    return []\n"
                                  "@hookimpl\ndef sublarr_bootup(kernel):\n    pass\n")
    bad = check_isolated(tmp_path, site, "failed", "sublarr_domain is not a sublarr hook (did you mean 'sublarr_domains'?)",
                         "sublarr_bootup is not a sublarr hook (did you mean 'sublarr_boot'?)")
    assert bad["hooks"] == []


def test_a_hook_with_an_argument_the_spec_does_not_have(tmp_path, site):
    install(site, "bad", HEADER + "@hookimpl\ndef sublarr_event(kernel, evnt):\n    pass\n")
    check_isolated(tmp_path, site, "failed", "sublarr_event() has argument 'evnt'", "did you mean 'event'?")


def test_wrapper_hooks_work(tmp_path, site):
    install(site, "bad", HEADER + textwrap.dedent("""
        from pathlib import Path
        from sublarr.core.events import EventType

        @hookimpl(wrapper=True)
        def sublarr_domains():
            domains = yield
            Path("wrapped").write_text(str(sum(len(found) for found in domains)))
            return domains

        @hookimpl(hookwrapper=True)
        def sublarr_events():
            outcome = yield
            outcome.force_result([*outcome.get_result(), [EventType("wrapped_event", "W", "added by a wrapper")]])
    """))
    bad = check_isolated(tmp_path, site, "loaded")
    assert bad["hooks"] == ["sublarr_domains", "sublarr_events"]
    assert int((tmp_path / "work" / "wrapped").read_text()) == 14, "the wrapper saw the fourteen built-in domains"
    events = json.loads(sublarr("events", "--json", cwd=tmp_path / "work", site=site).stdout)
    assert {"name": "wrapped_event", "plugin": "bad"}.items() <= next(e for e in events
                                                                      if e["name"] == "wrapped_event").items()


def test_a_wrapper_that_fails(tmp_path, site):
    install(site, "bad", HEADER + "@hookimpl(wrapper=True)\ndef sublarr_domains():\n"
                                  "    raise RuntimeError('before yield')\n    yield\n")
    check_isolated(tmp_path, site, "failed", "sublarr_domains raised RuntimeError: before yield")


def test_a_domain_that_requires_a_missing_domain(tmp_path, site):
    install(site, "bad", HEADER + textwrap.dedent("""
        from sublarr.core.domain import Domain, Repository

        @hookimpl
        def sublarr_domains():
            return [Domain(name="needy", repository=Repository, requires=("elsewhere",))]
    """))
    check_isolated(tmp_path, site, "disabled", "domain 'needy' requires domain 'elsewhere', which no loaded plugin "
                                               "provides")


def test_disabling_a_builtin_domain_disables_those_that_require_it(tmp_path, site):
    work = tmp_path / "work"
    work.mkdir()
    env = {"SUBLARR_PLUGINS_DISABLED": "providers"}
    plugins = listed(sublarr("plugins", "--json", cwd=work, site=site, env=env))
    assert plugins["providers"]["status"] == "disabled"
    for name in ("cache", "library", "standalone"):  # standalone requires cache, which requires providers
        assert plugins[name]["status"] == "disabled", plugins[name]
    assert "requires domain 'providers'" in plugins["cache"]["reason"]
    assert "requires domain 'cache'" in plugins["standalone"]["reason"]
    booted = sublarr("status", "--json", cwd=work, site=site, env=env)
    assert booted.returncode == 0, booted.stderr
    assert {"cache", "providers", "standalone"}.isdisjoint(s["domain"] for s in json.loads(booted.stdout)["schema"])


def test_the_plugin_of_the_configured_driver_failing_stops_boot(tmp_path, site):
    install(site, "bad", raising("sublarr_cache_drivers"))
    work = tmp_path / "work"
    work.mkdir()
    result = sublarr("status", cwd=work, site=site, env={"SUBLARR_CACHE_DRIVER": "boomcache"})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("sublarr: error:")]
    assert len(errors) == 1, result.stderr
    assert "setting 'cache_driver'" in errors[0] and "plugin 'bad' failed" in errors[0]
    assert listed(sublarr("plugins", "--json", cwd=work, site=site))["bad"]["status"] == "failed"


def test_a_driver_plugin_failing_after_its_driver_was_chosen_stops_boot(tmp_path, site):
    install(site, "bad", HEADER + textwrap.dedent("""
        from sublarr.drivers.memory_cache import MemoryCache

        class Mine(MemoryCache):
            name = "mine"

        @hookimpl
        def sublarr_cache_drivers():
            return [Mine]

        @hookimpl
        def sublarr_boot(kernel):
            raise RuntimeError("late")
    """))
    work = tmp_path / "work"
    work.mkdir()
    result = sublarr("status", cwd=work, site=site, env={"SUBLARR_CACHE_DRIVER": "mine"})
    assert result.returncode == 2, result.stderr
    assert ("sublarr: error: setting 'cache_driver': plugin 'bad', which provides it, failed: sublarr_boot raised "
            "RuntimeError: late") in result.stderr
    assert sublarr("status", cwd=work, site=site).returncode == 0, "with another cache driver it boots"
