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
