"""Settings: code defaults < settings.toml < .secrets.toml < SUBLARR_* env < keyword overrides.

dynaconf reads the files and the ``SUBLARR_*`` environment (see :class:`SettingsLoader`), with
its value markers (``@format``/``@read_file``/``@json``/``@jinja`` ...) switched off: no value is
ever evaluated. This module declares every setting (name, type, default, meaning), converts and
validates the resolved values, and remembers where each value came from (``sublarr config``
shows it). A bad value raises :class:`SettingsError` naming the setting, a bad file
:class:`SettingsFileError` naming the file; secrets are never part of a message.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, as dynaconf vendors it
    from dynaconf.vendor import tomllib  # type: ignore[no-redef]

from sublarr.core.errors import SettingsError, SublarrError
from sublarr.core.secrets import mask_value, registry, url_password

log = logging.getLogger("sublarr.settings")

ENV_PREFIX = "SUBLARR"
_UNSET = object()
# SUBLARR_* variables that are read by the process, not settings: never reported as unknown.
PROCESS_ENV = frozenset({"settings_files", "trace_plugins"})
# SUBLARR_TEST_* and SUBLARR_BENCH_* belong to the test suite and the benchmark harness.
TOOLING_ENV_PREFIXES = ("test_", "bench_")


@dataclass(frozen=True)
class Setting:
    """One declared setting. Plugins declare theirs through the ``sublarr_settings`` hook."""

    name: str
    default: Any
    type: type = str
    help: str = ""
    secret: bool = False
    minimum: float | None = None
    choices: Sequence[str] | None = None
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None  # returns a problem description, or None

    def convert(self, raw: Any) -> Any:
        """The typed value, or SettingsError(self.name, ...) describing what is wrong."""
        if raw is None:
            if self.nullable:
                return None
            raise SettingsError(self.name, f"must be {_article(self.type)}, got nothing")
        value = _CONVERTERS[self.type](self.name, raw)
        if self.minimum is not None and value < self.minimum:
            raise SettingsError(self.name, f"must be at least {self.minimum:g}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise SettingsError(self.name, f"must be one of {', '.join(self.choices)}; got {_shown(self, value)}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise SettingsError(self.name, problem)
        return value


def _article(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "a list"}[kind]


def _shown(setting: Setting, value: Any) -> str:
    return repr(mask_value(setting.name, value)) if not setting.secret else "***"


def _to_str(name: str, raw: Any) -> str:
    if isinstance(raw, (dict, list)):
        raise SettingsError(name, f"must be a string, got {type(raw).__name__}")
    return str(raw)


def _to_int(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise SettingsError(name, f"must be an integer, got {str(raw).lower()}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            pass
    raise SettingsError(name, f"must be an integer, got {raw!r}")


def _to_float(name: str, raw: Any) -> float:
    value: float | None = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            pass
    if value is None:
        raise SettingsError(name, f"must be a number, got {raw!r}")
    if not math.isfinite(value):  # NaN passes every comparison with a minimum, and inf is no setting
        raise SettingsError(name, f"must be a finite number, got {raw!r}")
    return value


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _to_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        return raw.strip().lower() in _TRUE
    raise SettingsError(name, f"must be true or false, got {raw!r}")


def _to_list(name: str, raw: Any) -> list:
    if isinstance(raw, (list, tuple)):
        return [str(item) for item in raw]
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    raise SettingsError(name, f"must be a list (or a comma-separated string), got {raw!r}")


_CONVERTERS: dict[type, Callable[[str, Any], Any]] = {
    str: _to_str, int: _to_int, float: _to_float, bool: _to_bool, list: _to_list,
}


def _check_database_url(url: str) -> str | None:
    if not url:
        return None
    if "://" not in url:
        return "must be a URL like sqlite:///path.db, postgresql://user:password@host/db or mariadb://user:password@host/db"
    try:
        from sqlalchemy.engine import make_url

        make_url(url)
    except Exception:
        return "is not a valid database URL"
    return None


def _check_redis_url(url: str) -> str | None:
    if not url:
        return None
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("redis", "rediss", "unix"):
        return "must be a redis://, rediss:// or unix:// URL"
    return None


def _check_log_file(value: str) -> str | None:
    """A log file must be creatable (or writable) before the command runs, not fail at the first line."""
    if not value:
        return None
    path = Path(value).expanduser()
    folder = path.parent
    if path.is_dir():
        return f"{value} is a folder; name a file in it"
    if not folder.is_dir():
        return f"{value}: the folder {folder} does not exist" if not folder.exists() else \
            f"{value}: {folder} is not a folder"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{value} cannot be written"
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        return f"{value} cannot be created: the folder {folder} is not writable"
    return None


def _check_host(value: str) -> str | None:
    return None if value.strip() and not any(ch.isspace() for ch in value) else "must be a host name or address"


def _check_driver_name(value: str) -> str | None:
    return None if value and value.replace("_", "").replace("-", "").isalnum() else "must be a driver name or 'auto'"


CORE_SETTINGS: tuple[Setting, ...] = (
    # storage
    Setting("db_path", "sublarr.db", str, "SQLite file used when database_url is empty"),
    Setting("database_url", "", str, "empty = sqlite:///<db_path>; postgresql://user:pw@host/db for PostgreSQL, mariadb://user:pw@host/db for MariaDB/MySQL",
            secret=False, check=_check_database_url),
    Setting("db_pool_size", 5, int, "QueuePool size (server databases)", minimum=1),
    Setting("db_pool_max_overflow", 10, int, "QueuePool overflow (server databases)", minimum=0),
    Setting("db_pool_recycle", 3600, int, "seconds before a pooled connection is recycled", minimum=-1),
    Setting("db_busy_timeout_ms", 5000, int, "SQLite busy timeout", minimum=0),
    Setting("db_connect_timeout", 10, int, "seconds to wait for a database server connection", minimum=1),
    Setting("auto_migrate", True, bool, "apply pending migrations at boot"),
    # redis, cache, queue
    Setting("redis_url", "", str, "empty = no Redis", check=_check_redis_url),
    Setting("redis_cache_enabled", True, bool, "use Redis for the cache when redis_url is set"),
    Setting("redis_queue_enabled", True, bool, "use Redis + RQ for the job queue when redis_url is set"),
    Setting("cache_driver", "auto", str, "auto, or a cache driver name (memory, redis, ...)", check=_check_driver_name),
    Setting("queue_driver", "auto", str, "auto, or a queue driver name (memory, rq, ...)", check=_check_driver_name),
    Setting("cache_key_prefix", "sublarr:", str, "prefix of every cache key in Redis"),
    Setting("memory_cache_max_entries", 10000, int, "LRU bound of the memory cache", minimum=1),
    Setting("queue_name", "sublarr", str, "RQ queue name"),
    Setting("queue_workers", 2, int, "threads of the in-process queue", minimum=1),
    Setting("queue_job_retention_seconds", 86400, int, "how long finished jobs stay visible", minimum=0),
    Setting("queue_job_timeout_seconds", 3600, int, "RQ job timeout", minimum=1),
    # plugins and service
    Setting("plugins_disabled", [], list, "plugin names not to load"),
    Setting("load_plugins", None, list, "allow-list of entry-point plugins; unset = all, empty = built-ins only",
            nullable=True),
    Setting("maintenance_interval_seconds", 3600, int, "period of the maintenance hooks in `sublarr run`",
            minimum=1),
    Setting("log_level", "INFO", str, "log level of `sublarr run` and `sublarr worker`",
            choices=("DEBUG", "INFO", "WARNING", "ERROR")),
    Setting("log_file", "", str, "also log to this file, rotated by size (empty = stderr only; created mode 0600)",
            check=_check_log_file),
    Setting("log_max_bytes", 10 * 1024 * 1024, int, "size at which log_file is rotated (0 = never)", minimum=0),
    Setting("log_backup_count", 5, int, "rotated log files kept: <log_file>.1 ... .N (0 = never rotate)",
            minimum=0),
    Setting("http_host", "127.0.0.1", str, "address `sublarr run` serves /healthz, /readyz, /metrics on",
            check=_check_host),
    Setting("http_port", 0, int, "port of /healthz, /readyz, /metrics in `sublarr run` (0 = off)",
            minimum=0, check=lambda port: None if port <= 65535 else f"must be at most 65535, got {port}"),
    # backups
    Setting("backup_dir", "backups", str, "where `sublarr db backup` writes"),
    Setting("backup_retention", 7, int, "backups kept by `sublarr db backup` (0 = keep all)", minimum=0),
    Setting("backup_interval_hours", 168.0, float, "scheduled backups in `sublarr run`, every N hours "
            "(fractions allowed; 0 = off)", minimum=0),
    # hooks and webhooks
    Setting("hooks_dir", "hooks", str, "script hooks may only run from this folder"),
    Setting("webhook_allowed_hosts", [], list, "host names or CIDRs webhooks may reach despite the SSRF guard"),
    # domain settings of the legacy layer (names and defaults kept)
    Setting("anidb_cache_ttl_days", 30, int, "sliding TTL of AniDB mappings (0 = never expire)"),
    Setting("metadata_cache_ttl_days", 30, int, "TTL of standalone metadata cache entries", minimum=0),
    Setting("provider_cache_ttl_minutes", 5, int, "TTL of provider search results", minimum=0),
    Setting("circuit_breaker_failure_threshold", 5, int, "provider failures before the circuit opens", minimum=1),
    Setting("provider_auto_disable_cooldown_minutes", 30, int, "how long an auto-disabled provider rests",
            minimum=0),
    Setting("wanted_max_search_attempts", 3, int, "searches before a wanted item is marked failed", minimum=1),
    Setting("source_language", "en", str, "default source language code"),
    Setting("source_language_name", "English", str, "default source language name"),
    Setting("target_language", "de", str, "default target language code"),
    Setting("target_language_name", "German", str, "default target language name"),
)


class Settings(Mapping):
    """Resolved settings: ``settings.db_path`` and ``settings["db_path"]``; ``source(name)`` tells where from."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str], declared: dict[str, Setting]):
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_sources", sources)
        object.__setattr__(self, "_declared", declared)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"unknown setting {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("settings are read-only; pass overrides to Kernel.boot()")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def source(self, name: str) -> str:
        return self._sources[name]

    def declared(self, name: str) -> Setting | None:
        return self._declared.get(name)

    def display(self) -> list[tuple[str, Any, str]]:
        """(name, masked value, source) for every setting, sorted by name."""
        rows = []
        for name in sorted(self._values):
            spec = self._declared.get(name)
            value = self._values[name]
            shown = "***" if (spec and spec.secret and value) else mask_value(name, value)
            rows.append((name, shown, self._sources[name]))
        return rows

    @property
    def resolved_database_url(self) -> str:
        return self._values["database_url"] or f"sqlite:///{self._values['db_path']}"

    def __repr__(self) -> str:
        return f"Settings({len(self)} values)"


class SettingsFileError(SettingsError):
    """A settings file that is named but missing, unreadable or not valid TOML (exit status 2)."""

    def __init__(self, path: str | os.PathLike, problem: str):
        SublarrError.__init__(self, f"settings file '{path}': {problem}")
        self.setting = "settings_files"
        self.problem = problem
        self.path = str(path)


def _read_toml(path: Path, required: bool) -> dict[str, Any] | None:
    """Check that a settings file is readable UTF-8 TOML before dynaconf reads it (dynaconf would
    warn and skip an unreadable file, fall back to another parser for non-UTF-8 text and report a
    syntax error naming no file). Its data, or None when an optional file is absent."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        if required:
            raise SettingsFileError(path, "does not exist") from None
        return None
    except IsADirectoryError:
        raise SettingsFileError(path, "is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise SettingsFileError(path, f"is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SettingsFileError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsFileError(path, f"is not valid TOML: {exc}") from None


_MERGE_MARKS = frozenset({"dynaconf_merge", "dynaconf_merge_unique"})


class _DynaconfKey(Exception):
    """A key that would steer dynaconf instead of being a setting."""

    def __init__(self, key: str, problem: str):
        super().__init__(key, problem)
        self.key, self.problem = key, problem


def _has_merge_mark(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(str(k).lower() in _MERGE_MARKS or _has_merge_mark(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any((isinstance(v, str) and v.lower() in _MERGE_MARKS) or _has_merge_mark(v) for v in value)
    return False


def _screen(data: dict[str, Any]) -> dict[str, Any]:
    """dynaconf's ``filter_strategy``: sees each file's and the environment's keys before they are set.

    With ``auto_cast`` off dynaconf evaluates no ``@`` marker, but some keys still steer it: a
    ``*_for_dynaconf`` key (``auto_cast_for_dynaconf = true`` in a file switches the markers back
    on for the keys after it), ``dynaconf_merge``/``dynaconf_include``/``dynaconf_*`` and the old
    names dynaconf renames (``settings_module``, ``project_root`` ...), and ``dynaconf_merge``
    inside a list or table (which merges it into the lower layer instead of replacing it).
    They are refused (the caller names the file or variable), never silently applied.
    """
    from dynaconf.utils import RENAMED_VARS

    for key, value in data.items():
        upper = str(key).upper()
        if upper.startswith("DYNACONF") or upper.endswith("_FOR_DYNACONF") or upper in RENAMED_VARS:
            raise _DynaconfKey(str(key), "is a dynaconf switch, not a setting")
        if _has_merge_mark(value):
            raise _DynaconfKey(str(key), "holds dynaconf_merge: merging settings layers is not supported")
    return {key: value for key, value in data.items() if key}  # "SUBLARR_" alone names nothing


class SettingsLoader:
    """Reads the layers once with dynaconf; :meth:`resolve` validates them against declared settings.

    dynaconf's own TOML and environment loaders read the files, in order, and then the ``SUBLARR_*``
    variables (TOML-typed: ``10``, ``true``, ``["a"]``), with ``auto_cast=False``, dynaconf's switch
    for its value markers: ``@format {env[X]}``, ``@read_file``, ``@json``, ``@jinja`` ... stay text.
    The loaders are called here rather than through ``settings_files`` because dynaconf's file
    discovery also reads a ``settings.local.toml`` beside each file, runs a ``dynaconf_hooks.py``
    found beside it, globs names, honours ``dynaconf_include`` and reads ``DYNACONF_*`` variables
    too; none of that is a sublarr settings source. Keys that would steer dynaconf are refused
    (:func:`_screen`); dotted and ``__`` nested keys stay flat names.

    A file named with ``--settings``/``settings_files`` or ``SUBLARR_SETTINGS_FILES`` must exist;
    ``settings.toml`` and ``.secrets.toml`` in the working directory are optional. A file that is
    missing (when named), unreadable, not UTF-8 or not valid TOML raises :class:`SettingsFileError`.
    """

    def __init__(self, settings_files: Iterable[str | os.PathLike] | None = None,
                 overrides: Mapping[str, Any] | None = None):
        from dynaconf import Dynaconf
        from dynaconf.loaders import env_loader
        from dynaconf.loaders.base import BaseLoader
        from dynaconf.utils.inspect import get_history

        # Absolute paths, read from where the operator says (the working directory by default), never
        # searched for in parent folders (a relative name also made dynaconf inspect the call stack).
        named = settings_files is not None or bool(os.environ.get("SUBLARR_SETTINGS_FILES", "").strip())
        files = [f.absolute() for f in self._files(settings_files)]
        # The files read: an absent optional default is not listed, so that passing ``files`` on
        # (Configuration.with_overrides) names only files that exist.
        self.files = [str(path) for path in files if _read_toml(path, required=named) is not None]
        self._dyn = Dynaconf(
            settings_files=[], loaders=[], core_loaders=[], includes=[], preload=[],  # sources: below
            environments=False, load_dotenv=False, merge_enabled=False,
            auto_cast=False,  # AUTO_CAST_FOR_DYNACONF: no @format/@read_file/@json/@jinja/... markers
            dotted_lookup=False, nested_separator=None,  # "a.b" and A__B are plain names
            filter_strategy=_screen,
        )
        for path in self.files:
            # dynaconf's TOML loader for this one file (toml_loader.load takes a name that does not end
            # in .toml for TOML text, so the loader is given the file's own name as its extension).
            loader = BaseLoader(obj=self._dyn, env=None, identifier="toml", extensions=(path,),
                                file_reader=tomllib.load, string_reader=tomllib.loads,
                                opener_params={"mode": "rb"})
            try:
                loader.load(filename=[path], silent=False)
            except _DynaconfKey as exc:
                raise SettingsFileError(path, f"'{exc.key.lower()}' {exc.problem}") from None
        try:
            env_loader.load_from_env(self._dyn, ENV_PREFIX, silent=False, identifier="env_global")
        except _DynaconfKey as exc:
            raise SettingsError(exc.key.lower(), f"{exc.problem} ({ENV_PREFIX}_{exc.key})") from None
        prefix = f"{ENV_PREFIX}_"
        self._env_text = {key[len(prefix):].lower(): value for key, value in os.environ.items()
                          if key.startswith(prefix) and len(key) > len(prefix)}
        self._history = get_history
        self.overrides = {k.lower(): v for k, v in (overrides or {}).items()}

    @staticmethod
    def _files(explicit) -> list[Path]:
        if explicit is not None:
            return [Path(f) for f in explicit]
        env = os.environ.get("SUBLARR_SETTINGS_FILES")
        if env and env.strip():
            return [Path(p.strip()) for p in env.replace(";", ",").split(",") if p.strip()]
        return [Path("settings.toml"), Path(".secrets.toml")]

    @cached_property
    def _last_layer(self) -> dict[str, Any]:
        """The last layer (loader, identifier) that set each top-level key: the history is read once,
        not once per setting (dynaconf walks every layer on each ``get_history`` call)."""
        layers: dict[str, Any] = {}
        for entry in self._history(self._dyn, filter_callable=lambda meta: meta.loader in ("toml", "env_global")):
            if isinstance(entry.get("value"), dict):
                for key in entry["value"]:
                    layers[str(key).upper()] = entry
        return layers

    def raw(self, name: str) -> tuple[Any, str]:
        """(raw value, source) for one name; ``_UNSET`` when no layer sets it."""
        if name in self.overrides:
            return self.overrides[name], "override"
        key = name.upper()
        last = self._last_layer.get(key)
        if last is None:
            return _UNSET, "default"
        if last["loader"] == "env_global":
            return self._dyn.get(key), "env"
        return self._dyn.get(key), Path(str(last["identifier"])).name

    def keys(self) -> set[str]:
        return {key.lower() for key in self._last_layer} | set(self.overrides)

    def resolve(self, declared: Iterable[Setting], warn_unknown: bool = True) -> Settings:
        specs: dict[str, Setting] = {}
        for spec in declared:
            specs[spec.name] = spec
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, spec in specs.items():
            raw, source = self.raw(name)
            if raw is _UNSET:
                values[name], sources[name] = spec.default, "default"
                continue
            if spec.type is str and source == "env":
                # The text as typed: dynaconf parses env values as TOML, which turns an all-digit
                # password into an int and "1e5" into a float (Bazarr#2309).
                raw = self._env_text.get(name, raw)
            values[name] = spec.convert(raw)
            sources[name] = source
        for name in sorted(self.keys() - set(specs) - PROCESS_ENV) if warn_unknown else []:
            source = self.raw(name)[1]
            if source == "env" and name.startswith(TOOLING_ENV_PREFIXES):
                continue
            log.warning("ignoring unknown setting %r (from %s)", name, source)
        settings = Settings(values, sources, specs)
        registry.add(self.secret_values(settings))
        return settings

    @staticmethod
    def secret_values(settings: Settings) -> list[str]:
        secrets = []
        for name in settings:
            value = settings[name]
            spec = settings.declared(name)
            if not isinstance(value, str) or not value:
                continue
            if (spec and spec.secret) or name.endswith(("_secret", "_password", "_token", "_api_key")):
                secrets.append(value)
            secrets.append(url_password(value) or "")
        return secrets


def load_settings(overrides: Mapping[str, Any] | None = None, extra: Iterable[Setting] = (),
                  settings_files: Iterable[str | os.PathLike] | None = None) -> Settings:
    """Resolve the core settings plus ``extra`` declared ones."""
    return SettingsLoader(settings_files, overrides).resolve([*CORE_SETTINGS, *extra])
