"""Loading plugins: built-ins first, then entry points in group ``sublarr``, one at a time.

``pluggy.load_setuptools_entrypoints`` stops at the first broken plugin and then every
command fails (llm documents this). Here each entry point is loaded in its own try block:
a broken, incompatible or disabled plugin is recorded with its reason and skipped.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from sublarr.core import hookspecs

log = logging.getLogger("sublarr.plugins")

ENTRY_POINT_GROUP = "sublarr"

# Built-in plugins: registered exactly like third-party ones (datasette's DEFAULT_PLUGINS).
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("sqlite", "sublarr.drivers.sqlite"),
    ("postgresql", "sublarr.drivers.postgresql"),
    ("mariadb", "sublarr.drivers.mariadb"),
    ("memory-cache", "sublarr.drivers.memory_cache"),
    ("redis-cache", "sublarr.drivers.redis_cache"),
    ("memory-queue", "sublarr.drivers.memory_queue"),
    ("rq-queue", "sublarr.drivers.rq_queue"),
    ("events", "sublarr.core.events"),
    ("maintenance", "sublarr.core.maintenance"),
    ("config", "sublarr.plugins.config"),
    ("blacklist", "sublarr.plugins.blacklist"),
    ("providers", "sublarr.plugins.providers"),
    ("cache", "sublarr.plugins.cache"),
    ("plugin_config", "sublarr.plugins.plugin_config"),
    ("scoring", "sublarr.plugins.scoring"),
    ("library", "sublarr.plugins.library"),
    ("whisper", "sublarr.plugins.whisper"),
    ("translation", "sublarr.plugins.translation"),
    ("jobs", "sublarr.plugins.jobs"),
    ("wanted", "sublarr.plugins.wanted"),
    ("profiles", "sublarr.plugins.profiles"),
    ("hooks", "sublarr.plugins.hooks"),
    ("hooks-dispatch", "sublarr.plugins.hooks.dispatch"),
    ("standalone", "sublarr.plugins.standalone"),
)


@dataclass
class PluginInfo:
    name: str
    version: str
    source: str  # "built-in" or "entry point"
    module: str
    status: str = "loaded"  # loaded / disabled / failed / incompatible
    reason: str = ""
    hooks: list[str] = field(default_factory=list)
    requires: str = ""
    tables: list[str] = field(default_factory=list)
    migration_head: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": self.version, "source": self.source, "module": self.module,
            "status": self.status, "reason": self.reason, "hooks": self.hooks, "requires": self.requires,
            "tables": self.tables, "migration_head": self.migration_head,
        }


def kernel_version() -> str:
    from sublarr import __version__

    return __version__


def _version_ok(requires: str) -> str | None:
    """None when this kernel satisfies ``requires`` (a PEP 440 specifier), else the reason."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        spec = SpecifierSet(requires)
    except InvalidSpecifier:
        return f"invalid SUBLARR_REQUIRES {requires!r}"
    if Version(kernel_version()) in spec:
        return None
    return f"requires sublarr{requires}, this is sublarr {kernel_version()}"


class Plugins:
    """The pluggy manager plus what we know about each plugin (``sublarr plugins`` shows it)."""

    def __init__(self, disabled: list[str] | None = None, allow: list[str] | None = None,
                 entry_points: bool = True, builtins: tuple[tuple[str, str], ...] = BUILTIN_PLUGINS):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.disabled = set(disabled or [])
        self.allow = None if allow is None else set(allow)
        self.tracing = os.environ.get("SUBLARR_TRACE_PLUGINS", "").lower() in ("1", "true", "yes")
        if self.tracing:
            self.pm.trace.root.setwriter(lambda message: log.info("trace: %s", message.rstrip()))
            self.pm.enable_tracing()
        for name, module in builtins:
            self._load(name, "built-in", kernel_version(), lambda m=module: importlib.import_module(m), module)
        if entry_points:
            self._load_entry_points()

    @property
    def hook(self):
        return self.pm.hook

    def _load_entry_points(self) -> None:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            version = ep.dist.version if ep.dist is not None else "?"
            if self.allow is not None and ep.name not in self.allow:
                self.info[ep.name] = PluginInfo(ep.name, version, "entry point", ep.value, "disabled",
                                                "not in load_plugins (SUBLARR_LOAD_PLUGINS)")
                continue
            self._load(ep.name, "entry point", version, ep.load, ep.value)

    def _load(self, name: str, source: str, version: str, loader, module_name: str) -> None:
        info = PluginInfo(name, version, source, module_name)
        self.info[name] = info
        if name in self.disabled:
            info.status, info.reason = "disabled", "listed in plugins_disabled"
            return
        if name in {n for n, i in self.info.items() if i is not info and i.status == "loaded"}:
            info.status, info.reason = "failed", f"a plugin named {name!r} is already loaded"
            return
        try:
            plugin = loader()
        except Exception as exc:  # a broken plugin must not stop the kernel
            info.status, info.reason = "failed", f"import failed: {type(exc).__name__}: {exc}"
            log.warning("plugin %s not loaded: %s", name, info.reason)
            return
        requires = getattr(plugin, "SUBLARR_REQUIRES", "") or ""
        info.requires = requires
        if requires:
            problem = _version_ok(requires)
            if problem:
                info.status, info.reason = "incompatible", problem
                log.warning("plugin %s not loaded: %s", name, problem)
                return
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # pluggy.PluginValidationError: a hook with unknown arguments, ...
            info.status, info.reason = "failed", f"invalid hooks: {exc}"
            log.warning("plugin %s not loaded: %s", name, info.reason)
            return
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])

    def register(self, plugin: Any, name: str | None = None, source: str = "runtime") -> str:
        """Register an object or module at runtime (tests, embedding applications)."""
        name = self.pm.register(plugin, name=name)
        info = PluginInfo(name, getattr(plugin, "__version__", kernel_version()), source,
                          getattr(plugin, "__name__", type(plugin).__name__))
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
        self.info[name] = info
        return name

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.info.pop(name, None)

    def results(self, hook_name: str, **kwargs) -> list[tuple[str, Any]]:
        """(plugin name, result) for every implementation of a hook, in registration order."""
        out = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():  # registration order
            if self.tracing:
                log.info("trace: %s from %s", hook_name, impl.plugin_name)
            args = {k: kwargs[k] for k in impl.argnames if k in kwargs}
            result = impl.function(**args)
            if result is not None:
                out.append((impl.plugin_name, result))
        return out

    def loaded(self) -> list[PluginInfo]:
        return [i for i in self.info.values() if i.status == "loaded"]

    def module(self, name: str) -> ModuleType | None:
        return self.pm.get_plugin(name)
