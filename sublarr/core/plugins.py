"""Loading plugins and calling their hooks: the one place where both happen.

Loading: built-ins first, then entry points in group ``sublarr``, one at a time. (``pluggy``'s
``load_setuptools_entrypoints`` stops at the first broken plugin and then every command fails.)
A plugin that cannot be imported, names a hook that does not exist, takes arguments its hook does
not have, or requires another kernel version is recorded with the reason and left out.

Calling: every hook is called through pluggy's own machinery (``pm.hook.<name>(...)``: wrappers,
``firstresult``, tracing all work). What pluggy registers for a plugin is a guarded copy of its
hook implementations (:class:`_Guarded`): an implementation that raises (``SystemExit`` included,
only ``KeyboardInterrupt`` passes) or returns the wrong type makes its plugin *failed*: it is
unregistered, the warning names the plugin and the hook, and the other plugins go on. Runtime hooks
(:data:`RUNTIME_HOOKS`) only log a failure: one bad event must not silence a listener for good.
"""

from __future__ import annotations

import contextvars
import difflib
import functools
import importlib
import inspect
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from sublarr.core import hookspecs
from sublarr.core.errors import SettingsError
from sublarr.plugins import BUILTIN_PLUGINS as DOMAIN_PLUGINS

log = logging.getLogger("sublarr.plugins")

ENTRY_POINT_GROUP = "sublarr"

HOOKS: tuple[str, ...] = tuple(sorted(n for n in vars(hookspecs) if n.startswith(f"{hookspecs.PROJECT}_")))

# Called while a kernel runs, maybe thousands of times: a failure is logged, the plugin stays loaded.
RUNTIME_HOOKS = frozenset({"sublarr_event", "sublarr_maintenance", "sublarr_metrics"})

# Built-in plugins: registered exactly like third-party ones (datasette's DEFAULT_PLUGINS).
BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("sqlite", "sublarr.drivers.sqlite"),
    ("postgresql", "sublarr.drivers.postgresql"),
    ("mariadb", "sublarr.drivers.mariadb"),
    ("memory-cache", "sublarr.drivers.memory_cache"),
    ("redis-cache", "sublarr.drivers.redis_cache"),
    ("memory-queue", "sublarr.drivers.memory_queue"),
    ("rq-queue", "sublarr.drivers.rq_queue"),
    *DOMAIN_PLUGINS,  # the domains (and their helpers), listed where they live: sublarr/plugins
)

BUILTIN, ENTRY_POINT, RUNTIME = "built-in", "entry point", "runtime"
LOADED, DISABLED, FAILED, INCOMPATIBLE = "loaded", "disabled", "failed", "incompatible"


@dataclass
class PluginInfo:
    """One line of ``sublarr plugins``."""

    name: str
    version: str
    source: str  # built-in / entry point / runtime
    module: str
    status: str = LOADED  # loaded / disabled / failed / incompatible
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

    def __repr__(self) -> str:
        detail = self.reason or ", ".join(h.removeprefix("sublarr_") for h in self.hooks)
        return f"<plugin {self.name} {self.version} ({self.source}) {self.status}{': ' + detail if detail else ''}>"


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


# -- what the registration hooks must return -------------------------------------------------------

@functools.cache
def _expected_items() -> dict[str, tuple[type, bool]]:
    """hook -> (class of the list items, whether the items are subclasses rather than instances).
    Without ``sublarr_metrics``, whose class :func:`result_problem` imports only when that hook is
    called (at a scrape): a process that never serves /metrics never imports prometheus_client."""
    from sublarr.core.domain import Domain
    from sublarr.core.events import EventType
    from sublarr.core.settings import Setting
    from sublarr.drivers.base import CacheDriver, QueueDriver, StorageDriver

    return {
        "sublarr_settings": (Setting, False), "sublarr_domains": (Domain, False),
        "sublarr_events": (EventType, False), "sublarr_storage_drivers": (StorageDriver, True),
        "sublarr_cache_drivers": (CacheDriver, True), "sublarr_queue_drivers": (QueueDriver, True),
    }


def result_problem(hook: str, result: Any) -> str | None:
    """Why ``result`` is no usable return value of ``hook`` (None when it is one)."""
    if hook == "sublarr_metrics":
        from prometheus_client.metrics_core import Metric

        expected: tuple[type, bool] | None = (Metric, False)
    else:
        expected = _expected_items().get(hook)
    if expected is None or result is None:
        return None
    kind, subclass = expected
    wanted = f"{kind.__name__} subclass" if subclass else kind.__name__
    if not isinstance(result, (list, tuple)):
        return f"returned {type(result).__name__} {_short(result)}, not a list of {wanted}"
    for item in result:
        if subclass:
            if not (isinstance(item, type) and issubclass(item, kind)):
                return f"returned {_short(item)} in its list, not a {wanted}"
            if not isinstance(getattr(item, "name", None), str) or inspect.isabstract(item):
                return f"returned driver {item.__name__}, which has no name or leaves abstract methods"
        elif not isinstance(item, kind):
            return f"returned {_short(item)} in its list, not a {wanted}"
        elif not isinstance(name := getattr(item, "name", None), str) or not name:
            return f"returned a {wanted} without a name"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "failed"
    text = str(exc).strip().splitlines()
    return f"raised {type(exc).__name__}" + (f": {text[0]}" if text else "")


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def nearest(name: str, candidates: list[str] | tuple[str, ...]) -> str:
    """' (did you mean X?)' for the closest candidate, or ''."""
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


# -- the guard ---------------------------------------------------------------------------------------

# While :meth:`Plugins.collect` runs (per thread), id(item) -> name of the plugin that returned it.
_origins: contextvars.ContextVar[dict[int, str] | None] = contextvars.ContextVar("sublarr_origins", default=None)


class _Guarded:
    """What pluggy registers for a plugin: its hook implementations, each behind a guard."""

    def __init__(self, name: str, plugin: Any):
        self._sublarr_name = name
        self._sublarr_plugin = plugin

    def __repr__(self) -> str:
        return f"<plugin {self._sublarr_name}>"


class Plugins:
    """The pluggy manager plus what we know about each plugin. Iterating gives one
    :class:`PluginInfo` per plugin (loaded or not), in load order."""

    def __init__(self, disabled: list[str] | None = None, allow: list[str] | None = None,
                 entry_points: bool = True, builtins: tuple[tuple[str, str], ...] = BUILTIN_PLUGINS):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        # plugin -> setting, for the plugins that provide a configured driver while a kernel boots:
        # their failure stops boot (a kernel without its configured storage is no kernel).
        self.essential: dict[str, str] = {}
        self.disabled = set(disabled or [])
        self.allow = None if allow is None else set(allow)
        if os.environ.get("SUBLARR_TRACE_PLUGINS", "").lower() in ("1", "true", "yes"):
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)
        for name, module in builtins:
            self._load(name, BUILTIN, kernel_version(), functools.partial(importlib.import_module, module), module)
        if entry_points:
            self._load_entry_points()

    # -- the listing ---------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[PluginInfo]:
        return iter(list(self.info.values()))

    def __len__(self) -> int:
        return len(self.info)

    def __getitem__(self, name: str) -> PluginInfo:
        return self.info[name]

    def __contains__(self, name: object) -> bool:
        return name in self.info

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for info in self.info.values():
            counts[info.status] = counts.get(info.status, 0) + 1
        broken = [f"{i.name}: {i.reason}" for i in self.info.values() if i.status in (FAILED, INCOMPATIBLE)]
        return (f"<Plugins {', '.join(f'{n} {s}' for s, n in counts.items())}"
                + (f"; {'; '.join(broken)}" if broken else "") + ">")

    def loaded(self) -> list[PluginInfo]:
        return [i for i in self.info.values() if i.status == LOADED]

    def failed(self) -> list[PluginInfo]:
        return [i for i in self.info.values() if i.status in (FAILED, INCOMPATIBLE)]

    # -- loading ---------------------------------------------------------------------------------------

    def _load_entry_points(self) -> None:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            version = ep.dist.version if ep.dist is not None else "?"
            if self.allow is not None and ep.name not in self.allow:
                self.info[ep.name] = PluginInfo(ep.name, version, ENTRY_POINT, ep.value, DISABLED,
                                                "not in load_plugins (SUBLARR_LOAD_PLUGINS)")
                continue
            self._load(ep.name, ENTRY_POINT, version, ep.load, ep.value)

    def _load(self, name: str, source: str, version: str, loader: Callable[[], Any], module_name: str) -> None:
        if name in self.info and self.info[name].status == LOADED:
            # the first one keeps the name; the second is listed under a suffixed key
            self._set(PluginInfo(name, version, source, module_name), FAILED,
                      f"a plugin named {name!r} is already loaded", key=f"{name} ({module_name})")
            return
        info = PluginInfo(name, version, source, module_name)
        self.info[name] = info
        if name in self.disabled:
            info.status, info.reason = DISABLED, "listed in plugins_disabled"
            return
        try:
            plugin = loader()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit at import too: a broken plugin never ends the process
            self._set(info, FAILED, f"import {_reason(exc)}")
            return
        info.requires = getattr(plugin, "SUBLARR_REQUIRES", "") or ""
        problem = _version_ok(info.requires) if info.requires else None
        if problem:
            self._set(info, INCOMPATIBLE, problem)
            return
        self._register(info, plugin)

    def register(self, plugin: Any, name: str | None = None, source: str = RUNTIME) -> str:
        """Register an object or module at runtime (tests, embedding applications).

        Raises ValueError when the plugin has invalid hooks (the reason names them)."""
        if name is None:  # the module's or the class's name, numbered when it is taken
            base = getattr(plugin, "__name__", None) or type(plugin).__name__
            name = next(n for n in (base, *(f"{base}-{i}" for i in range(2, len(self.info) + 3)))
                        if n not in self.info)
        elif name in self.info and self.info[name].status == LOADED:
            raise ValueError(f"a plugin named {name!r} is already loaded")
        info = PluginInfo(name, getattr(plugin, "__version__", kernel_version()), source,
                          getattr(plugin, "__name__", type(plugin).__name__))
        self.info[name] = info
        if not self._register(info, plugin):
            raise ValueError(f"plugin {name}: {info.reason}")
        return name

    def unregister(self, name: str) -> None:
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        self.info.pop(name, None)

    def _register(self, info: PluginInfo, plugin: Any) -> bool:
        guarded = _Guarded(info.name, plugin)
        for attr in dir(plugin):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            if opts is not None:
                hook = opts.get("specname") or attr
                setattr(guarded, attr, self._guard(info.name, hook, getattr(plugin, attr), dict(opts)))
        problem = self._invalid_hooks(guarded)
        if problem is None:
            try:
                self.pm.register(guarded, name=info.name)
                self.pm.check_pending()  # an implementation of a hook that has no spec
            except pluggy.PluginValidationError as exc:
                problem = f"invalid hooks: {str(exc).strip().splitlines()[-1]}"
        if problem:
            if self.pm.get_plugin(info.name) is not None:  # pluggy leaves a half-registered plugin behind
                self.pm.unregister(name=info.name)
            self._set(info, FAILED, problem)
            return False
        info.hooks = sorted(h.name for h in self.pm.get_hookcallers(guarded) or [])
        return True

    def _invalid_hooks(self, guarded: _Guarded) -> str | None:
        """Names that are no hook, or arguments a hook does not have, with the nearest right name."""
        problems = []
        for attr, function in vars(guarded).items():
            if attr.startswith("_sublarr"):
                continue
            hook = function.sublarr_impl.get("specname") or attr
            if hook not in HOOKS:
                problems.append(f"{hook} is not a sublarr hook{nearest(hook, HOOKS)}")
                continue
            spec = getattr(self.pm.hook, hook).spec.argnames
            for arg, param in inspect.signature(function).parameters.items():
                # as pluggy reads them: positional arguments without a default are passed by name
                if param.kind not in _POSITIONAL or param.default is not param.empty or arg == "self":
                    continue
                if arg not in spec:
                    problems.append(f"{hook}() has argument {arg!r}, which the hook does not have "
                                    f"(it has: {', '.join(spec) or 'none'}){nearest(arg, spec)}")
        return "; ".join(problems) or None

    def _set(self, info: PluginInfo, status: str, reason: str, key: str | None = None) -> None:
        info.status, info.reason = status, reason
        self.info[key or info.name] = info
        log.warning("plugin %s not loaded: %s", info.name, reason)

    # -- calling ---------------------------------------------------------------------------------------

    @property
    def hook(self) -> pluggy.HookRelay:
        """``plugins.hook.<name>(**kwargs)``: pluggy's hook relay; every implementation is guarded."""
        return self.pm.hook

    def collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin name, item) for every item of every list returned by a registration hook, in
        registration order (built-ins first). Items a wrapper adds are attributed to the wrapper."""
        origins: dict[int, str] = {}
        token = _origins.set(origins)
        try:
            results = getattr(self.pm.hook, hook)(**kwargs)
        finally:
            _origins.reset(token)
        # pluggy calls the last registered implementation first
        return [(origins.get(id(item), "?"), item) for result in reversed(results) for item in result]

    def fail(self, name: str, hook: str, reason: str) -> None:
        """Mark plugin ``name`` failed in ``hook`` and unregister it; stops a boot whose configured
        driver it provides (SettingsError naming the setting)."""
        if self._drop(name, FAILED, f"{hook} {reason}"):
            setting = self.essential.get(name)
            if setting is not None:
                raise SettingsError(setting, f"plugin {name!r}, which provides it, failed: {hook} {reason}")

    def disable(self, name: str, reason: str) -> None:
        """Unregister a loaded plugin that cannot work here (e.g. a domain it requires is missing)."""
        self._drop(name, DISABLED, reason)

    def _drop(self, name: str, status: str, reason: str) -> bool:
        info = self.info.get(name)
        if info is None or info.status != LOADED:
            return False
        info.status, info.reason = status, reason
        if self.pm.get_plugin(name) is not None:
            self.pm.unregister(name=name)
        log.warning("plugin %s %s: %s", name, "failed and was unregistered" if status == FAILED else status, reason)
        return True

    def _failure(self, name: str, hook: str, exc: BaseException | None = None, reason: str = "") -> None:
        if hook in RUNTIME_HOOKS:
            log.error("plugin %s failed in %s: %s", name, hook, reason or _reason(exc),
                      exc_info=exc if isinstance(exc, Exception) else None)
        else:
            self.fail(name, hook, reason or _reason(exc))

    def _guard(self, name: str, hook: str, function: Callable, opts: dict) -> Callable:
        """``function`` as pluggy will call it: isolated, its result checked and attributed."""
        if (opts.get("wrapper") or opts.get("hookwrapper")) and inspect.isgeneratorfunction(function):
            guard = self._guard_wrapper(name, hook, function, old_style=bool(opts.get("hookwrapper")))
        else:
            def guard(*args):
                try:
                    result = function(*args)
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # SystemExit too: a plugin never ends the process
                    self._failure(name, hook, exc)
                    return None
                problem = result_problem(hook, result)
                if problem:
                    self._failure(name, hook, reason=problem)
                    return None
                _attribute(name, result)
                return result
        functools.update_wrapper(guard, function)  # pluggy reads the arguments through __wrapped__
        setattr(guard, f"{hookspecs.PROJECT}_impl", opts)
        return guard

    def _guard_wrapper(self, name: str, hook: str, function: Callable, old_style: bool) -> Callable:
        """A generator like ``function`` (a ``wrapper=True`` or ``hookwrapper=True`` implementation)
        whose own failures, before or after its ``yield``, fail its plugin and leave the result alone."""

        def guard(*args):
            try:
                inner = function(*args)
                next(inner)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # StopIteration: it never yielded
                self._failure(name, hook, reason="did not yield" if isinstance(exc, StopIteration) else _reason(exc))
                return (yield)
            try:
                received = yield
            except BaseException as exc:  # the call failed: the wrapper sees it, as pluggy would show it
                try:
                    inner.throw(exc)
                except StopIteration as stop:
                    return stop.value
                raise
            before = received.get_result() if old_style and received.exception is None else received
            try:
                inner.send(received)
            except StopIteration as stop:
                after = received.get_result() if old_style and received.exception is None else stop.value
                _attribute_new(name, before, after)
                return None if old_style else stop.value
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self._failure(name, hook, exc)
                return None if old_style else received
            inner.close()
            self._failure(name, hook, reason="yielded more than once")
            return None if old_style else received

        return guard


def _attribute(name: str, result: Any) -> None:
    origins = _origins.get()
    if origins is not None and isinstance(result, (list, tuple)):
        for item in result:
            origins.setdefault(id(item), name)


def _attribute_new(name: str, before: Any, after: Any) -> None:
    """Items of the lists in ``after`` that were not in ``before`` came from wrapper ``name``."""
    if isinstance(after, list) and isinstance(before, list):
        seen = {id(item) for result in before if isinstance(result, (list, tuple)) for item in result}
        for result in after:
            if isinstance(result, (list, tuple)):
                _attribute(name, [item for item in result if id(item) not in seen])


def _trace_before(hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
    log.info("trace: %s from %s", hook, ", ".join(i.plugin_name for i in impls) or "(no plugin)")


def _trace_after(outcome: pluggy.Result, hook: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
    if outcome.exception is not None:
        log.info("trace: %s raised %s", hook, _reason(outcome.exception))
