"""Settings: layers, precedence, sources, conversion and the one-line errors of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from sublarr.core.errors import SettingsError
from sublarr.core.settings import CORE_SETTINGS, Setting, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_without_files():
    s = load_settings(settings_files=[])
    assert s.db_path == "sublarr.db"
    assert s.database_url == ""
    assert s.resolved_database_url == "sqlite:///sublarr.db"
    assert (s.db_pool_size, s.db_pool_max_overflow, s.db_pool_recycle) == (5, 10, 3600)
    assert s.db_busy_timeout_ms == 5000
    assert s.redis_cache_enabled is True and s.redis_queue_enabled is True
    assert s.cache_driver == s.queue_driver == "auto"
    assert s.plugins_disabled == []
    assert s.anidb_cache_ttl_days == 30 and s.target_language == "de"
    assert s["db_path"] == "sublarr.db"
    assert all(s.source(name) == "default" for name in s)


def test_repo_settings_toml_documents_every_core_default():
    documented = tomllib.loads((REPO / "settings.toml").read_text())
    for setting in CORE_SETTINGS:
        if setting.default is None:
            continue  # unset-by-default settings are documented as comments
        assert setting.name in documented, f"settings.toml does not document {setting.name}"
        assert documented[setting.name] == setting.default, setting.name


def test_precedence_default_file_secrets_env_override(tmp_path, monkeypatch):
    main = write(tmp_path / "settings.toml", 'db_pool_size = 7\ndb_path = "file.db"\nredis_url = "redis://f/0"\n')
    secrets = write(tmp_path / ".secrets.toml", 'redis_url = "redis://:s3cret@secrets/0"\ndb_pool_recycle = 10\n')
    monkeypatch.setenv("SUBLARR_DB_POOL_SIZE", "9")
    monkeypatch.setenv("SUBLARR_DB_BUSY_TIMEOUT_MS", "1234")
    s = load_settings({"db_busy_timeout_ms": 99}, settings_files=[main, secrets])
    assert (s.db_path, s.source("db_path")) == ("file.db", "settings.toml")
    assert (s.redis_url, s.source("redis_url")) == ("redis://:s3cret@secrets/0", ".secrets.toml")
    assert (s.db_pool_recycle, s.source("db_pool_recycle")) == (10, ".secrets.toml")
    assert (s.db_pool_size, s.source("db_pool_size")) == (9, "env")
    assert (s.db_busy_timeout_ms, s.source("db_busy_timeout_ms")) == (99, "override")
    assert s.source("db_pool_max_overflow") == "default"


def test_settings_files_from_environment(tmp_path, monkeypatch):
    other = write(tmp_path / "other.toml", "db_pool_size = 3\n")
    monkeypatch.setenv("SUBLARR_SETTINGS_FILES", str(other))
    assert load_settings().db_pool_size == 3


def test_settings_files_come_from_the_working_directory_only(tmp_path, monkeypatch):
    # dynaconf alone would also search parent folders (and the script's folder) for a relative name
    write(tmp_path / "settings.toml", "db_pool_size = 7\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert load_settings().db_pool_size == 5
    write(work / "settings.toml", "db_pool_size = 8\n")
    s = load_settings()
    assert (s.db_pool_size, s.source("db_pool_size")) == (8, "settings.toml")


def test_env_strings_are_not_parsed_as_toml(monkeypatch):
    # Bazarr#2309: an all-digit password became an int. Strings stay exactly what was typed.
    monkeypatch.setenv("SUBLARR_DATABASE_URL", "postgresql://u:0123@h/db")
    monkeypatch.setenv("SUBLARR_TARGET_LANGUAGE", "1e5")
    s = load_settings(settings_files=[])
    assert s.database_url == "postgresql://u:0123@h/db"
    assert s.target_language == "1e5"


@pytest.mark.parametrize(("env", "value", "expected"), [
    ("SUBLARR_REDIS_CACHE_ENABLED", "false", False),
    ("SUBLARR_REDIS_CACHE_ENABLED", "no", False),
    ("SUBLARR_REDIS_CACHE_ENABLED", "1", True),
    ("SUBLARR_PLUGINS_DISABLED", '["a", "b"]', ["a", "b"]),
    ("SUBLARR_PLUGINS_DISABLED", "a, b", ["a", "b"]),
    ("SUBLARR_DB_POOL_SIZE", " 12 ", 12),
])
def test_env_conversions(monkeypatch, env, value, expected):
    monkeypatch.setenv(env, value)
    s = load_settings(settings_files=[])
    assert s[env.removeprefix("SUBLARR_").lower()] == expected


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("db_pool_size", "abc", "must be an integer, got 'abc'"),
    ("db_pool_size", "0", "must be at least 1"),
    ("db_pool_recycle", "1.5", "must be an integer"),
    ("redis_cache_enabled", "maybe", "must be true or false"),
    ("database_url", "not a url", "must be a URL"),
    ("redis_url", "http://x", "must be a redis://"),
    ("cache_driver", "no pe!", "driver name"),
    ("log_level", "LOUD", "must be one of"),
])
def test_bad_values_name_the_setting(monkeypatch, name, value, fragment):
    monkeypatch.setenv(f"SUBLARR_{name.upper()}", value)
    with pytest.raises(SettingsError) as err:
        load_settings(settings_files=[])
    assert err.value.setting == name
    assert f"setting '{name}'" in str(err.value)
    assert fragment in str(err.value)


def test_bad_value_in_file(tmp_path):
    f = write(tmp_path / "settings.toml", 'db_pool_size = "lots"\n')
    with pytest.raises(SettingsError, match="setting 'db_pool_size'"):
        load_settings(settings_files=[f])


def test_secret_setting_value_never_in_error():
    spec = Setting("api_token", "", str, secret=True, choices=("a", "b"))
    with pytest.raises(SettingsError) as err:
        spec.convert("hunter2-very-secret")
    assert "hunter2" not in str(err.value)


def test_unknown_keys_warn_but_boot(tmp_path, caplog):
    f = write(tmp_path / "settings.toml", "db_pool_szie = 3\n")
    s = load_settings(settings_files=[f])
    assert s.db_pool_size == 5
    assert "db_pool_szie" in caplog.text


def test_process_and_tooling_variables_are_not_unknown_settings(tmp_path, monkeypatch, caplog):
    # read by the process (SUBLARR_SETTINGS_FILES, SUBLARR_TRACE_PLUGINS) or by the test suite and the
    # benchmark harness (SUBLARR_TEST_*, SUBLARR_BENCH_*): a typo next to them is still reported
    f = write(tmp_path / "settings.toml", "test_mode = 1\n")
    monkeypatch.setenv("SUBLARR_SETTINGS_FILES", str(f))
    monkeypatch.setenv("SUBLARR_TRACE_PLUGINS", "1")
    monkeypatch.setenv("SUBLARR_TEST_PG_URL", "postgresql://u:pw@h/db")
    monkeypatch.setenv("SUBLARR_BENCH_REDIS_URL", "redis://h/0")
    monkeypatch.setenv("SUBLARR_DB_POOL_SZIE", "3")
    load_settings()
    warned = sorted(r.getMessage() for r in caplog.records if r.name == "sublarr.settings")
    assert warned == ["ignoring unknown setting 'db_pool_szie' (from env)",
                      "ignoring unknown setting 'test_mode' (from settings.toml)"]


def test_settings_are_read_only():
    s = load_settings(settings_files=[])
    with pytest.raises(AttributeError):
        s.db_path = "x"


def test_display_masks_secrets():
    s = load_settings({"database_url": "postgresql://u:pw-123456@h/db", "redis_url": "redis://:r3dis-pw@h:6379/0"},
                      settings_files=[])
    shown = {name: value for name, value, _ in s.display()}
    assert shown["database_url"] == "postgresql://u:***@h/db"
    assert shown["redis_url"] == "redis://:***@h:6379/0"
    assert "pw-123456" not in repr(s.display())
