"""Plugin loading rules: built-ins through the same hooks, broken plugins isolated, version gates."""

from __future__ import annotations

import sys
import types

import pytest

from sublarr import hookimpl
from sublarr.core.plugins import BUILTIN_PLUGINS, Plugins
from tests.conftest import boot


def make_module(name: str, source: str) -> str:
    module = types.ModuleType(name)
    exec(source, module.__dict__)
    sys.modules[name] = module
    return name


@pytest.fixture
def modules():
    made = []

    def make(name, source):
        made.append(make_module(name, source))
        return name

    yield make
    for name in made:
        sys.modules.pop(name, None)


def test_builtins_are_plugins_with_hooks():
    plugins = Plugins(entry_points=False)
    info = plugins.info
    assert [name for name, _ in BUILTIN_PLUGINS] == list(info)
    assert info["sqlite"].hooks == ["sublarr_storage_drivers"]
    assert info["sqlite"].source == "built-in"


def test_broken_plugins_are_recorded_and_skipped(modules):
    good = modules("plug_good", "from sublarr import hookimpl\n@hookimpl\ndef sublarr_events():\n    return []\n")
    bad_import = modules("plug_bad_import", "")
    wrong_arg = modules("plug_wrong_arg", "from sublarr import hookimpl\n"
                                          "@hookimpl\ndef sublarr_event(kernel, evnt):\n    pass\n")
    too_new = modules("plug_too_new", "SUBLARR_REQUIRES = '>=99'\nfrom sublarr import hookimpl\n"
                                      "@hookimpl\ndef sublarr_events():\n    return []\n")
    plugins = Plugins(entry_points=False, disabled=["disabled_one"], builtins=(
        ("good", good), ("missing", "plug_does_not_exist"), ("wrong_arg", wrong_arg), ("too_new", too_new),
        ("disabled_one", bad_import), ("config", "sublarr.plugins.config"),
    ))
    status = {name: (i.status, i.reason) for name, i in plugins.info.items()}
    assert status["good"] == ("loaded", "")
    assert status["missing"][0] == "failed" and "ModuleNotFoundError" in status["missing"][1]
    assert status["wrong_arg"][0] == "failed" and "evnt" in status["wrong_arg"][1]
    assert status["too_new"][0] == "incompatible" and "requires sublarr>=99" in status["too_new"][1]
    assert status["disabled_one"] == ("disabled", "listed in plugins_disabled")
    assert status["config"][0] == "loaded"


def test_disabled_builtin_domain_is_not_booted(tmp_path):
    with boot(f"sqlite:///{tmp_path / 'p.db'}", plugins_disabled=["config"]) as kernel:
        assert "config" not in kernel.domains
        assert kernel.plugins.info["config"].status == "disabled"


class Extra:
    @hookimpl
    def sublarr_settings(self):
        from sublarr.core.settings import Setting

        return [Setting("extra_limit", 3, int, "an example plugin setting", minimum=1)]


def test_plugin_settings_are_validated_like_core_ones(tmp_path):
    from sublarr.core.errors import SettingsError

    with boot(f"sqlite:///{tmp_path / 'p.db'}", extra_plugins=[Extra()], extra_limit=7) as kernel:
        assert kernel.settings.extra_limit == 7
        assert kernel.settings.source("extra_limit") == "override"
    with pytest.raises(SettingsError, match="setting 'extra_limit': must be at least 1"):
        boot(f"sqlite:///{tmp_path / 'p.db'}", extra_plugins=[Extra()], extra_limit=0)


def test_trace_plugins_logs_hook_calls(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SUBLARR_TRACE_PLUGINS", "1")
    with caplog.at_level("INFO", logger="sublarr.plugins"):
        boot(f"sqlite:///{tmp_path / 'p.db'}").close()
    assert "trace: sublarr_storage_drivers from sqlite" in caplog.text


def test_kernel_plugins_is_a_listing_with_a_readable_repr(tmp_path):
    class Broken:
        @hookimpl
        def sublarr_events(self):
            raise RuntimeError("boom")

    with boot(f"sqlite:///{tmp_path / 'p.db'}", extra_plugins=[Broken()]) as kernel:
        entries = list(kernel.plugins)
        assert len(entries) == len(kernel.plugins) == len(BUILTIN_PLUGINS) + 1
        broken = kernel.plugins["Broken"]
        assert (broken.source, broken.status, broken.reason) == ("runtime", "failed",
                                                                 "sublarr_events raised RuntimeError: boom")
        assert repr(kernel.plugins) == (f"<Plugins {len(BUILTIN_PLUGINS)} loaded, 1 failed; "
                                        "Broken: sublarr_events raised RuntimeError: boom>")
        assert repr(kernel.plugins["sqlite"]) == "<plugin sqlite 0.1.0 (built-in) loaded: storage_drivers>"
        assert {"name", "version", "source", "status", "reason", "hooks"} <= set(broken.as_dict())


def test_runtime_hook_failures_are_logged_and_the_plugin_stays(tmp_path, caplog):
    class Flaky:
        calls = 0

        @hookimpl
        def sublarr_event(self, event):
            Flaky.calls += 1
            raise SystemExit("listener exits")

    with boot(f"sqlite:///{tmp_path / 'p.db'}", extra_plugins=[Flaky()]) as kernel:
        name = "Flaky"
        for _ in range(2):
            kernel.emit("config_updated", {"keys": []})
        assert Flaky.calls == 2 and kernel.plugins[name].status == "loaded"
        assert f"plugin {name} failed in sublarr_event: raised SystemExit: listener exits" in caplog.text


def test_registering_a_plugin_with_invalid_hooks_says_why():
    class Typo:
        @hookimpl
        def sublarr_evnts(self):
            return []

    plugins = Plugins(entry_points=False, builtins=())
    with pytest.raises(ValueError, match="sublarr_evnts is not a sublarr hook \\(did you mean 'sublarr_events'\\?\\)"):
        plugins.register(Typo(), name="typo")
    assert plugins["typo"].status == "failed" and plugins.pm.get_plugin("typo") is None


def test_a_wrapper_sees_and_changes_a_registration_result(tmp_path):
    from sublarr.core.configuration import Configuration
    from sublarr.core.settings import Setting

    class Wrapper:
        @hookimpl(wrapper=True)
        def sublarr_settings(self):
            found = yield
            return [*found, [Setting("wrapped_limit", 2, int, "added by a wrapper")]]

    config = Configuration(settings_files=[], entry_points=False, extra_plugins=[Wrapper()], wrapped_limit=5)
    assert config.settings.wrapped_limit == 5
    origins = {setting.name: plugin for plugin, setting in config.plugins.collect("sublarr_settings")}
    assert origins["wrapped_limit"] == "Wrapper"


def test_auto_picks_the_highest_ranked_driver(tmp_path):
    from sublarr.core.configuration import Configuration
    from sublarr.drivers.memory_cache import MemoryCache

    class Preferred(MemoryCache):
        name = "preferred"

        @classmethod
        def auto_rank(cls, settings):
            return 5 if settings.redis_url == "" else None

    class Provides:
        @hookimpl
        def sublarr_cache_drivers(self):
            return [Preferred]

    def chosen(*plugins, **overrides):
        config = Configuration(settings_files=[], entry_points=False, extra_plugins=plugins, **overrides)
        return config.choose_driver("cache")[2].name, config.choose_driver("queue")[2].name

    assert chosen(redis_url="") == ("memory", "memory")
    assert chosen(redis_url="redis://127.0.0.1:1/0") == ("redis", "rq")
    assert chosen(redis_url="redis://127.0.0.1:1/0", redis_cache_enabled=False) == ("memory", "rq")
    assert chosen(Provides(), redis_url="") == ("preferred", "memory")


def test_the_configuration_opens_no_database(tmp_path):
    from sublarr import Kernel
    from sublarr.core.configuration import Configuration

    config = Configuration(settings_files=[], entry_points=False, db_path=str(tmp_path / "never.db"))
    assert "wanted" in config.domains and "subtitle_downloaded" in config.events
    assert not hasattr(config, "storage") and not (tmp_path / "never.db").exists()
    with Kernel(config) as kernel:
        assert kernel.configuration is config and kernel.plugins is config.plugins
        assert (tmp_path / "never.db").exists()
