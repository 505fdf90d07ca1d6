"""Settings are data (issue 15 items 3 and 11).

dynaconf's value markers (``@format {env[X]}``, ``@read_file /path``, ``@json``, ``@jinja`` ...)
copied any environment variable or file into a setting, which ``sublarr config`` then printed
unmasked, and a malformed marker or a TOML syntax error stopped boot with a traceback-ish message
naming nothing (exit 1). A settings file named on the command line or in ``SUBLARR_SETTINGS_FILES``
that does not exist was ignored: sublarr booted on defaults and created ``./sublarr.db``.
Real ``sublarr`` processes where the exit status and the output matter.
"""

from __future__ import annotations

import json

import pytest

from sublarr.core.errors import SettingsError
from sublarr.core.settings import SettingsFileError, load_settings
from tests.kernel.test_cli import one_error_line, sublarr

LEAKED = "leaked-Xq7-secret-value"

MARKERS = [
    "@format {env[SUBLARR_TEST_LEAK]}",
    "@format {this.__class__}",
    "@jinja {{ env.SUBLARR_TEST_LEAK }}",
    "@json {\"a\":",
    "@json [\"x\"]",
    "@int 5",
    "@bool true",
    "@none",
    "@del",
    "@reset x",
    "@merge a,b",
    "@get db_path",
    "@str @format {env[SUBLARR_TEST_LEAK]}",
]


@pytest.fixture
def leak(tmp_path, monkeypatch):
    """A secret in the environment and in a file that a marker could copy into a setting."""
    monkeypatch.setenv("SUBLARR_TEST_LEAK", LEAKED)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(LEAKED)
    return secret_file


@pytest.mark.parametrize("marker", [*MARKERS, "@read_file {file}"])
def test_markers_in_a_file_are_plain_text(tmp_path, leak, marker):
    marker = marker.replace("{file}", str(leak))
    path = tmp_path / "settings.toml"
    path.write_text(f"target_language_name = {json.dumps(marker)}\nhooks_dir = {json.dumps(marker)}\n")
    s = load_settings(settings_files=[path])
    assert s.target_language_name == marker and s.hooks_dir == marker
    assert s.source("target_language_name") == "settings.toml"


@pytest.mark.parametrize("marker", [*MARKERS, "@read_file {file}"])
def test_markers_in_env_values_are_plain_text(monkeypatch, leak, marker):
    marker = marker.replace("{file}", str(leak))
    monkeypatch.setenv("SUBLARR_TARGET_LANGUAGE_NAME", marker)  # a string setting
    monkeypatch.setenv("SUBLARR_WEBHOOK_ALLOWED_HOSTS", marker)  # a list setting: parsed, before, by dynaconf
    s = load_settings(settings_files=[])
    assert s.target_language_name == marker
    assert LEAKED not in json.dumps(s.webhook_allowed_hosts)
    assert s.webhook_allowed_hosts == [part.strip() for part in marker.split(",") if part.strip()]


@pytest.mark.parametrize(("name", "marker"), [("db_pool_size", "@int 5"), ("auto_migrate", "@bool false"),
                                              ("db_pool_size", "@format {env[SUBLARR_TEST_LEAK]}"),
                                              ("backup_retention", "@json 3")])
def test_markers_in_typed_env_values_are_bad_values_naming_the_setting(monkeypatch, leak, name, marker):
    monkeypatch.setenv(f"SUBLARR_{name.upper()}", marker)
    try:
        load_settings(settings_files=[])
    except SettingsError as exc:
        assert exc.setting == name and LEAKED not in str(exc)
    else:
        pytest.fail(f"{marker!r} was accepted for {name}")


def test_config_never_shows_what_a_marker_points_at(tmp_path, leak):
    (tmp_path / "settings.toml").write_text(
        f'target_language_name = "@format {{env[SUBLARR_TEST_LEAK]}}"\n'
        f'source_language_name = "@read_file {leak}"\n')
    result = sublarr("config", "--json", cwd=tmp_path, env={"SUBLARR_TEST_LEAK": LEAKED,
                                                             "SUBLARR_PLUGINS_DISABLED": f"@read_file {leak}"})
    assert result.returncode == 0, result.stderr
    assert LEAKED not in result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["target_language_name"]["value"] == "@format {env[SUBLARR_TEST_LEAK]}"
    assert data["source_language_name"]["value"] == f"@read_file {leak}"


@pytest.mark.parametrize("value", ['"@format {this.__class__}"', '"@json {\\"a\\":"'])
def test_a_malformed_marker_does_not_stop_boot(tmp_path, value):
    (tmp_path / "settings.toml").write_text(f"target_language_name = {value}\n")
    result = sublarr("config", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target_language_name"]["value"] == json.loads(value)


@pytest.mark.parametrize("text", ["db_pool_size = \n", "db_pool_size 5\n", "[unclosed\n", 'a = "x\n', "a = 1\na = 2\n"])
def test_a_toml_syntax_error_is_one_line_naming_the_file_exit_2(tmp_path, text):
    (tmp_path / "settings.toml").write_text(text)
    result = sublarr("status", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert line.startswith(f"sublarr: error: settings file '{tmp_path / 'settings.toml'}': is not valid TOML")
    assert not (tmp_path / "sublarr.db").exists()


def test_unreadable_settings_files_name_the_file(tmp_path):
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(SettingsFileError, match="dir.toml': is a directory"):
        load_settings(settings_files=[tmp_path / "dir.toml"])
    (tmp_path / "latin1.toml").write_bytes(b'target_language_name = "Fran\xe7ais"\n')
    with pytest.raises(SettingsFileError, match="latin1.toml': is not UTF-8"):
        load_settings(settings_files=[tmp_path / "latin1.toml"])


# -- item 11: a named settings file that does not exist ------------------------------------------------

def test_a_missing_file_named_with_settings_is_an_error(tmp_path):
    result = sublarr("--settings", "/nope.toml", "status", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == "sublarr: error: settings file '/nope.toml': does not exist"
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no ./sublarr.db


def test_a_missing_file_named_in_the_environment_is_an_error(tmp_path):
    (tmp_path / "real.toml").write_text("db_pool_size = 3\n")
    result = sublarr("status", cwd=tmp_path, env={"SUBLARR_SETTINGS_FILES": f"{tmp_path / 'real.toml'},/nope.toml"})
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == "sublarr: error: settings file '/nope.toml': does not exist"
    assert not (tmp_path / "sublarr.db").exists()


def test_missing_default_files_are_fine(tmp_path, monkeypatch):
    monkeypatch.delenv("SUBLARR_SETTINGS_FILES", raising=False)
    monkeypatch.chdir(tmp_path)  # no settings.toml, no .secrets.toml here
    assert load_settings().db_pool_size == 5
    with pytest.raises(SettingsFileError, match="'/nope.toml': does not exist"):
        load_settings(settings_files=["/nope.toml"])


def test_dynaconf_switches_and_side_files_are_not_honoured(tmp_path, monkeypatch) -> None:
    """Only the named files and SUBLARR_* are read, and no file can switch dynaconf's markers back on."""
    from sublarr.core.errors import SettingsError
    from sublarr.core.settings import CORE_SETTINGS, SettingsLoader

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME_SECRET_FOR_TEST", "leaked-value")
    (tmp_path / "settings.toml").write_text('target_language_name = "plain"\n')
    (tmp_path / "settings.local.toml").write_text('target_language_name = "from local"\n')
    (tmp_path / "dynaconf_hooks.py").write_text("raise SystemExit('hooks ran')\n")
    monkeypatch.setenv("DYNACONF_TARGET_LANGUAGE_NAME", "from dynaconf env")
    settings = SettingsLoader(None).resolve(CORE_SETTINGS)
    assert settings.target_language_name == "plain"
    (tmp_path / "settings.toml").write_text('auto_cast_for_dynaconf = true\n'
                                            'target_language_name = "@format {env[HOME_SECRET_FOR_TEST]}"\n')
    with pytest.raises(SettingsError, match="auto_cast_for_dynaconf"):
        SettingsLoader(None).resolve(CORE_SETTINGS)
