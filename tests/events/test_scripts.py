"""Script hooks: the hooks_dir rule, the replaced environment, exit codes, timeouts, output limits.

Every script is a real /bin/sh file written to the test's hooks folder and really executed.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from sublarr.plugins.hooks.scripts import (
    ENV_VALUE_LIMIT,
    EVENT_DATA_LIMIT,
    OUTPUT_LIMIT,
    ScriptRefused,
    execute,
    run_script_hook,
    script_env,
    validate_script_path,
)

# -- the hooks_dir rule --------------------------------------------------------------------------------


def test_script_inside_hooks_dir_is_accepted_as_its_real_path(make_script, hooks_dir):
    script = make_script("notify.sh", "exit 0")
    assert validate_script_path(script, hooks_dir) == script.resolve()
    assert validate_script_path("notify.sh", hooks_dir) == script.resolve()  # relative to hooks_dir
    (hooks_dir / "sub").mkdir()
    nested = make_script("deep.sh", "exit 0", folder=hooks_dir / "sub")
    assert validate_script_path(nested, hooks_dir) == nested.resolve()


def test_script_outside_hooks_dir_is_refused(make_script, hooks_dir, tmp_path):
    outside = make_script("evil.sh", "exit 0", folder=tmp_path)
    with pytest.raises(ScriptRefused, match="outside hooks_dir"):
        validate_script_path(outside, hooks_dir)
    with pytest.raises(ScriptRefused, match="outside hooks_dir"):
        validate_script_path(hooks_dir / ".." / "evil.sh", hooks_dir)
    with pytest.raises(ScriptRefused, match="outside hooks_dir"):
        validate_script_path("../evil.sh", hooks_dir)
    with pytest.raises(ScriptRefused, match="outside hooks_dir"):
        validate_script_path(hooks_dir, hooks_dir)


def test_symlink_in_hooks_dir_pointing_outside_is_refused(make_script, hooks_dir, tmp_path):
    outside = make_script("evil.sh", "exit 0", folder=tmp_path)
    link = hooks_dir / "innocent.sh"
    link.symlink_to(outside)
    with pytest.raises(ScriptRefused, match=r"innocent\.sh \(resolves to .*evil\.sh\) is outside hooks_dir"):
        validate_script_path(link, hooks_dir)
    (hooks_dir / "escape").symlink_to(tmp_path, target_is_directory=True)  # a linked folder too
    with pytest.raises(ScriptRefused, match="outside hooks_dir"):
        validate_script_path(hooks_dir / "escape" / "evil.sh", hooks_dir)


def test_symlink_staying_inside_hooks_dir_is_fine(make_script, hooks_dir):
    real = make_script("real.sh", "exit 0")
    (hooks_dir / "alias.sh").symlink_to(real)
    assert validate_script_path(hooks_dir / "alias.sh", hooks_dir) == real.resolve()


def test_hooks_dir_itself_may_be_a_symlink(make_script, hooks_dir, tmp_path):
    script = make_script("ok.sh", "exit 0")
    linked = tmp_path / "hooks-link"
    linked.symlink_to(hooks_dir, target_is_directory=True)
    assert validate_script_path(linked / "ok.sh", linked) == script.resolve()


def test_missing_not_executable_and_not_a_file(make_script, hooks_dir, tmp_path):
    with pytest.raises(ScriptRefused, match="Script not found"):
        validate_script_path(hooks_dir / "missing.sh", hooks_dir)
    plain = hooks_dir / "plain.sh"
    plain.write_text("#!/bin/sh\nexit 0\n")
    plain.chmod(0o644)  # no execute bit at all: not even root may run it
    with pytest.raises(ScriptRefused, match="Script not executable"):
        validate_script_path(plain, hooks_dir)
    (hooks_dir / "folder").mkdir()
    with pytest.raises(ScriptRefused, match="not a regular file"):
        validate_script_path(hooks_dir / "folder", hooks_dir)
    with pytest.raises(ScriptRefused, match="is not a directory"):
        validate_script_path(make_script("x.sh", "exit 0"), tmp_path / "no-such-dir")
    with pytest.raises(ScriptRefused, match="empty"):
        validate_script_path("", hooks_dir)


# -- the environment -------------------------------------------------------------------------------------

def test_environment_is_replaced_and_values_sanitised(monkeypatch):
    monkeypatch.setenv("DATABASE_PASSWORD", "hunter2")
    env = script_env("subtitle_downloaded", {
        "file_path": "/media/a\nb\r.mkv\0", "score": 91, "forced": True, "missing": None,
        "languages": ["de", "en"], "file-name": "x", "event": "forged", "": "empty key",
    })
    assert env["PATH"] == os.environ["PATH"]
    assert env["HOME"] and "DATABASE_PASSWORD" not in env
    assert env["SUBLARR_EVENT"] == "subtitle_downloaded"  # a payload key "event" cannot forge it
    assert env["SUBLARR_FILE_PATH"] == "/media/ab.mkv"
    assert env["SUBLARR_SCORE"] == "91" and env["SUBLARR_FORCED"] == "true" and env["SUBLARR_MISSING"] == ""
    assert env["SUBLARR_LANGUAGES"] == '["de", "en"]'
    assert env["SUBLARR_FILE_NAME"] == "x"
    data = json.loads(env["SUBLARR_EVENT_DATA"])
    assert data["file_path"] == "/media/a\nb\r.mkv\0" and data["event"] == "forged"  # JSON keeps them, escaped
    assert not any(c in value for value in env.values() for c in "\n\r\0")
    assert "SUBLARR_EVENT_DATA_TRUNCATED" not in env
    assert set(env) == {"PATH", "HOME", "SUBLARR_EVENT", "SUBLARR_EVENT_DATA", "SUBLARR_FILE_PATH", "SUBLARR_SCORE",
                        "SUBLARR_FORCED", "SUBLARR_MISSING", "SUBLARR_LANGUAGES", "SUBLARR_FILE_NAME"}


def test_long_values_are_truncated():
    env = script_env("batch_complete", {"note": "x" * 5000, "key=with=equals": "v"})
    assert env["SUBLARR_NOTE"] == "x" * ENV_VALUE_LIMIT
    assert len(env["SUBLARR_EVENT_DATA"]) == EVENT_DATA_LIMIT
    assert env["SUBLARR_EVENT_DATA_TRUNCATED"] == "1"
    assert env["SUBLARR_KEY_WITH_EQUALS"] == "v"


# -- running ---------------------------------------------------------------------------------------------

def test_exit_codes_and_output(make_script):
    ok = make_script("ok.sh", 'echo "out:$SUBLARR_EVENT"; echo "err" >&2')
    assert execute(ok, script_env("test", {}), timeout=10) == (0, "out:test\n", "err\n", "")
    failing = make_script("fail.sh", "echo partial; exit 3")
    assert execute(failing, script_env("test", {}), timeout=10) == (3, "partial\n", "", "Exit code 3")


def test_the_script_sees_only_the_replaced_environment(make_script, monkeypatch):
    monkeypatch.setenv("SUBLARR_DATABASE_URL", "postgresql://u:pw@db/x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak")
    script = make_script("env.sh", "env")
    code, out, _, _ = execute(script, script_env("wanted_item_processed", {"item_id": 7}), timeout=10)
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert code == 0
    assert seen["SUBLARR_EVENT"] == "wanted_item_processed" and seen["SUBLARR_ITEM_ID"] == "7"
    assert json.loads(seen["SUBLARR_EVENT_DATA"]) == {"item_id": 7}
    assert "SUBLARR_DATABASE_URL" not in seen and "AWS_SECRET_ACCESS_KEY" not in seen
    assert set(seen) - {"PWD", "SHLVL", "_", "OLDPWD"} == {"PATH", "HOME", "SUBLARR_EVENT", "SUBLARR_EVENT_DATA",
                                                            "SUBLARR_ITEM_ID"}


def test_no_shell_is_involved(make_script, hooks_dir):
    """A file name full of shell syntax is just a name: nothing in it is executed."""
    script = make_script("hook $(touch pwned); touch pwned2.sh", "echo ran")
    assert execute(validate_script_path(script, hooks_dir), script_env("test", {}), timeout=10)[:2] == (0, "ran\n")
    assert not list(hooks_dir.glob("pwned*")) and not list(hooks_dir.parent.glob("pwned*"))


def test_timeout_kills_the_script_and_its_children(make_script, tmp_path):
    """``sleep`` is a child holding the output pipe: only killing the group ends the run quickly."""
    marker = tmp_path / "survived"
    script = make_script("slow.sh", f'echo started; sleep 30; touch "{marker}"')
    started = time.monotonic()
    code, out, _, error = execute(script, script_env("test", {}), timeout=0.5)
    assert time.monotonic() - started < 5
    assert (code, out, error) == (-1, "started\n", "Timeout after 0.5s")
    time.sleep(0.2)
    assert not marker.exists()


def test_output_is_truncated(make_script):
    script = make_script("chatty.sh", "head -c 1000000 /dev/zero | tr '\\0' 'a'; head -c 20000 /dev/zero | tr '\\0' 'b' >&2")
    code, out, err, error = execute(script, script_env("test", {}), timeout=20)
    assert code == 0 and error == ""
    assert out == "a" * OUTPUT_LIMIT and err == "b" * OUTPUT_LIMIT


def test_a_file_that_cannot_be_executed(hooks_dir):
    script = hooks_dir / "no-shebang.bin"
    script.write_bytes(b"\x7fELF-not-really")
    script.chmod(0o755)
    code, _, _, error = execute(script, script_env("test", {}), timeout=5)
    assert code == -1 and error.startswith("Cannot execute")


# -- a hook run through the kernel: log, statistics, hook_executed -------------------------------------

def test_run_logs_records_and_emits(events_kernel, make_script, recorder):
    kernel = events_kernel()
    kernel.plugins.register(recorder)
    repo = kernel.repo("hooks")
    script = make_script("ok.sh", 'echo "file=$SUBLARR_FILE_PATH"')
    hook = repo.create_hook("ok", "subtitle_downloaded", str(script), timeout_seconds=10)

    result = run_script_hook(kernel, hook, "subtitle_downloaded", {"file_path": "/m/x.mkv"})

    assert result.success and result.exit_code == 0 and result.stdout == "file=/m/x.mkv\n"
    [entry] = repo.get_hook_logs(hook_id=hook["id"])
    assert entry["hook_type"] == "script" and entry["success"] == 1 and entry["exit_code"] == 0
    assert entry["stdout"] == "file=/m/x.mkv\n" and entry["event_name"] == "subtitle_downloaded"
    stored = repo.get_hook(hook["id"])
    assert stored["trigger_count"] == 1 and stored["last_status"] == "success"
    assert recorder.named("hook_executed") == [{"hook_id": hook["id"], "webhook_id": None,
                                                "event_name": "subtitle_downloaded", "success": True,
                                                "exit_code": 0, "status_code": None}]


def test_failed_and_timed_out_runs_are_logged_as_failures(events_kernel, make_script):
    kernel = events_kernel()
    repo = kernel.repo("hooks")
    failing = repo.create_hook("fail", "batch_complete", str(make_script("fail.sh", "echo no >&2; exit 2")))
    slow = repo.create_hook("slow", "batch_complete", str(make_script("slow.sh", "sleep 30")), timeout_seconds=1)

    assert run_script_hook(kernel, failing, "batch_complete", {}).error == "Exit code 2"
    started = time.monotonic()
    assert run_script_hook(kernel, slow, "batch_complete", {}).error == "Timeout after 1s"
    assert time.monotonic() - started < 5

    [entry] = repo.get_hook_logs(hook_id=failing["id"])
    assert (entry["success"], entry["exit_code"], entry["stderr"], entry["error"]) == (0, 2, "no\n", "Exit code 2")
    assert repo.get_hook(failing["id"])["last_status"] == "failed"
    [entry] = repo.get_hook_logs(hook_id=slow["id"])
    assert (entry["success"], entry["exit_code"], entry["error"]) == (0, -1, "Timeout after 1s")
    assert entry["duration_ms"] >= 1000


def test_path_is_checked_again_at_run_time(events_kernel, make_script, hooks_dir, tmp_path):
    """A hook accepted at creation whose script is later swapped for a symlink to outside is refused,
    and the outside script never runs."""
    kernel = events_kernel()
    repo = kernel.repo("hooks")
    script = make_script("notify.sh", "exit 0")
    hook = repo.create_hook("n", "config_updated", str(validate_script_path(script, hooks_dir)))
    marker = tmp_path / "outside-ran"
    outside = make_script("evil.sh", f'touch "{marker}"', folder=tmp_path)
    script.unlink()
    script.symlink_to(outside)

    result = run_script_hook(kernel, hook, "config_updated", {"keys": ["x"]})

    assert not result.success and result.exit_code == -1
    assert "outside hooks_dir" in result.error and not marker.exists()
    assert "outside hooks_dir" in repo.get_hook_logs(hook_id=hook["id"])[0]["error"]


def test_hooks_dir_of_the_running_kernel_applies(events_kernel, make_script, tmp_path):
    """A hook stored with a path outside the running kernel's hooks_dir (a legacy row, another
    configuration) is refused at run time."""
    elsewhere = tmp_path / "other-hooks"
    elsewhere.mkdir()
    script = make_script("legacy.sh", "exit 0", folder=elsewhere)
    kernel = events_kernel()
    repo = kernel.repo("hooks")
    hook = repo.create_hook("legacy", "config_updated", str(script))
    result = run_script_hook(kernel, hook, "config_updated", {})
    assert "outside hooks_dir" in result.error
    assert repo.get_hook(hook["id"])["last_status"] == "failed"


def test_deleted_script_is_reported_as_not_found(events_kernel, make_script):
    kernel = events_kernel()
    script = make_script("gone.sh", "exit 0")
    hook = kernel.repo("hooks").create_hook("gone", "config_updated", str(script))
    script.unlink()
    result = run_script_hook(kernel, hook, "config_updated", {})
    assert (result.exit_code, result.error) == (-1, f"Script not found: {script}")


# -- lone surrogates and failures to start (issue 15 item 8) -------------------------------------------

def test_lone_surrogates_are_replaced_in_values_and_escaped_in_the_json():
    payload = {"title": "a\ud800b", "nested": {"k\udfff": ["\ud83d"]}}
    env = script_env("subtitle_downloaded", payload)
    for name, value in env.items():
        value.encode("utf-8")  # every value can be passed to a process
        name.encode("utf-8")
    assert env["SUBLARR_TITLE"] == "a\ufffdb"
    assert json.loads(env["SUBLARR_EVENT_DATA"]) == payload  # escaped, so it decodes to exactly the payload
    assert "\\ud800" in env["SUBLARR_EVENT_DATA"]


def test_a_lone_surrogate_in_an_emitted_payload_runs_logs_counts_and_emits(events_kernel, make_script, recorder,
                                                                             tmp_path):
    """Before: the queued hook job crashed with UnicodeEncodeError: no hook_log row, no statistics,
    no hook_executed event."""
    from tests.polling import wait_until

    seen = tmp_path / "seen"
    kernel = events_kernel()
    kernel.plugins.register(recorder)
    repo = kernel.repo("hooks")
    script = make_script("echo.sh", f'printf "%s\\n%s" "$SUBLARR_TITLE" "$SUBLARR_EVENT_DATA" > "{seen}"')
    hook = repo.create_hook("echo", "subtitle_downloaded", str(script), timeout_seconds=10)

    kernel.emit("subtitle_downloaded", {"title": "bad \ud800 title", "file_path": "/m/x.mkv"})

    [entry] = wait_until(lambda: repo.get_hook_logs(hook_id=hook["id"]), 20, what="the hook_log row")
    assert (entry["success"], entry["exit_code"], entry["error"]) == (1, 0, "")
    title, data = seen.read_text(encoding="utf-8").split("\n", 1)
    assert title == "bad \ufffd title"
    assert json.loads(data) == {"title": "bad \ud800 title", "file_path": "/m/x.mkv"}
    # the statistics and the event follow the log row in the job's thread
    wait_until(lambda: repo.get_hook(hook["id"])["trigger_count"] == 1, 5, what="trigger_count 1")
    wait_until(lambda: recorder.named("hook_executed"), 5, what="hook_executed")
    assert recorder.named("hook_executed")[0]["success"] is True


def test_any_failure_to_start_a_script_is_logged_like_the_others(events_kernel, make_script, recorder, storage):
    """A stored script path the OS cannot even look at (a NUL byte, possible in a legacy SQLite row)
    raised ValueError out of the hook job; now it is a failed run with a hook_log row, statistics
    and hook_executed."""
    if storage == "postgresql":
        pytest.skip("PostgreSQL cannot store a NUL byte in a text column")
    from sqlalchemy import text

    kernel = events_kernel()
    kernel.plugins.register(recorder)
    repo = kernel.repo("hooks")
    hook = repo.create_hook("nul", "config_updated", str(make_script("ok.sh", "exit 0")))
    with kernel.transaction() as session:
        session.execute(text("UPDATE hook_configs SET script_path = :path WHERE id = :id"),
                        {"path": hook["script_path"] + "\0x", "id": hook["id"]})
    hook = repo.get_hook(hook["id"])
    assert "\0" in hook["script_path"]

    result = run_script_hook(kernel, hook, "config_updated", {})

    assert (result.success, result.exit_code) == (False, -1) and result.error.startswith("Cannot execute")
    [entry] = repo.get_hook_logs(hook_id=hook["id"])
    assert entry["success"] == 0 and entry["error"] == result.error and "\0" not in entry["error"]
    assert repo.get_hook(hook["id"])["last_status"] == "failed"
    assert recorder.named("hook_executed")[0]["success"] is False
