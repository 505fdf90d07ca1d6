"""hooks domain: hook/webhook configs and the execution log, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, inspect, select, update

import sublarr.plugins.hooks as hooks_pkg
from sublarr.core.timeutil import iso_in
from sublarr.plugins.hooks import WEBHOOK_FAILURE_LIMIT, mask_webhook
from sublarr.plugins.hooks.models import hook_configs, hook_log, webhook_configs
from tests.conftest import boot
from tests.domains.rows import counts, set_columns
from tests.domains.schema import (
    compare_with_legacy,
    create_legacy_tables,
    describe_sqlite,
    model_drift,
    reflect,
)

TABLES = ("hook_configs", "webhook_configs", "hook_log")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
HOOK_KEYS = ["id", "name", "event_name", "hook_type", "enabled", "script_path", "timeout_seconds",
             "last_triggered_at", "last_status", "trigger_count", "created_at", "updated_at"]
WEBHOOK_KEYS = ["id", "name", "event_name", "url", "secret", "enabled", "retry_count", "timeout_seconds",
                "last_triggered_at", "last_status_code", "last_error", "consecutive_failures", "trigger_count",
                "created_at", "updated_at"]
LOG_KEYS = ["id", "hook_id", "webhook_id", "event_name", "hook_type", "success", "exit_code", "status_code",
            "stdout", "stderr", "error", "duration_ms", "triggered_at"]
TRICKY = ["it's \"quoted\"", "100%_done\\", "Ünïcødé ✓ 字幕", "x" * 2000]  # the longest indexed value (MAX_INDEXED_BYTES)


@pytest.fixture
def repo(kernel):
    return kernel.repo("hooks")


# -- script hooks --------------------------------------------------------------------------------

def test_create_hook_config_returns_the_legacy_literal_dict(repo):
    hook = repo.create_hook_config("Notify", "subtitle_downloaded", "/config/hooks/n.sh")
    assert list(hook) == HOOK_KEYS
    assert hook["id"] >= 1
    assert {k: hook[k] for k in HOOK_KEYS[1:10]} == {
        "name": "Notify", "event_name": "subtitle_downloaded", "hook_type": "script", "enabled": 1,
        "script_path": "/config/hooks/n.sh", "timeout_seconds": 30, "last_triggered_at": "",
        "last_status": "", "trigger_count": 0}
    assert STAMP.match(hook["created_at"]) and hook["created_at"] == hook["updated_at"]
    assert repo.get_hook_config(hook["id"]) == hook
    assert repo.get_hook(hook["id"]) == hook


def test_create_hook_repository_form_takes_enabled(repo):
    off = repo.create_hook("off", "e", "/s", timeout_seconds=0, enabled=False)
    assert (off["enabled"], off["timeout_seconds"]) == (0, 0)
    assert repo.get_hook(off["id"])["enabled"] == 0


def test_get_hooks_ordering_and_filters(repo):
    a = repo.create_hook("a", "e1", "/a")
    b = repo.create_hook("b", "e2", "/b", enabled=False)
    c = repo.create_hook("c", "e1", "/c")
    assert [h["id"] for h in repo.get_hook_configs()] == [a["id"], b["id"], c["id"]]  # disabled included
    assert [h["id"] for h in repo.get_hook_configs("e1")] == [a["id"], c["id"]]
    assert [h["id"] for h in repo.get_hook_configs("")] == [a["id"], b["id"], c["id"]]  # legacy truthiness
    assert repo.get_hook_configs("E1") == [] and repo.get_hook_configs("e%") == []  # exact match
    assert [h["id"] for h in repo.get_hooks(enabled_only=True)] == [a["id"], c["id"]]
    assert [h["id"] for h in repo.get_hooks("e2", enabled_only=True)] == []
    assert repo.get_hooks("e2")[0] == b


def test_missing_hooks_and_webhooks(repo):
    assert repo.get_hook(999) is None and repo.get_hook_config(999) is None
    assert repo.get_webhook(999) is None and repo.get_webhook_config(999) is None
    assert repo.update_hook(999, name="x") is False
    assert repo.update_webhook(999, name="x") is False
    assert repo.delete_hook(999) is False and repo.delete_webhook(999) is False
    assert repo.update_hook_config(999, name="x") is None
    assert repo.delete_hook_config(999) is None and repo.delete_webhook_config(999) is None
    repo.record_hook_triggered(999, True)  # a missing row is a silent no-op, as legacy
    repo.record_webhook_triggered(999, False, 500, "boom")
    assert repo.get_hooks() == [] and repo.get_webhooks() == []


def test_update_hook_changes_editable_fields(repo):
    hook = repo.create_hook("a", "e", "/a")
    set_columns(repo.kernel, hook_configs, hook_configs.c.id == hook["id"], updated_at="2000-01-01T00:00:00.000000")
    assert repo.update_hook(hook["id"], name="b", event_name="f", script_path="/b", timeout_seconds=5,
                            enabled=False) is True
    after = repo.get_hook(hook["id"])
    assert {k: after[k] for k in ("name", "event_name", "script_path", "timeout_seconds", "enabled")} == {
        "name": "b", "event_name": "f", "script_path": "/b", "timeout_seconds": 5, "enabled": 0}
    assert after["updated_at"] > "2000" and STAMP.match(after["updated_at"])
    assert after["created_at"] == hook["created_at"]
    assert repo.update_hook_config(hook["id"], enabled=True) is None  # legacy form returns None
    assert repo.get_hook(hook["id"])["enabled"] == 1


def test_update_without_fields_writes_nothing(repo):
    hook = repo.create_hook("a", "e", "/a")
    set_columns(repo.kernel, hook_configs, hook_configs.c.id == hook["id"], updated_at="2000-01-01T00:00:00.000000")
    assert repo.update_hook(hook["id"]) is True
    assert repo.get_hook(hook["id"])["updated_at"] == "2000-01-01T00:00:00.000000"  # legacy no-op
    assert repo.update_hook(hook["id"] + 1) is False


def test_updates_reject_non_editable_fields(repo):
    hook = repo.create_hook("a", "e", "/a")
    for field in ("trigger_count", "hook_type", "id", "created_at", "last_status", "bogus"):
        with pytest.raises(ValueError, match=field):
            repo.update_hook(hook["id"], name="changed", **{field: 1})
        with pytest.raises(ValueError, match=field):
            repo.update_hook_config(hook["id"], **{field: 1})
    assert repo.get_hook(hook["id"]) == hook  # nothing written, not even the valid field
    web = repo.create_webhook("a", "e", "https://example.org/h")
    for field in ("consecutive_failures", "trigger_count", "last_error", "hook_type", "script_path", "x"):
        with pytest.raises(ValueError, match=field):
            repo.update_webhook(web["id"], enabled=True, **{field: 0})
        with pytest.raises(ValueError, match=field):
            repo.update_webhook_config(web["id"], **{field: 0})
    assert repo.get_webhook(web["id"]) == web


BAD_HOOK_VALUES = [
    {"name": None}, {"event_name": None}, {"script_path": None}, {"script_path": 5},
    {"timeout_seconds": -1}, {"timeout_seconds": "30"}, {"timeout_seconds": 1.5}, {"timeout_seconds": True},
    {"enabled": "yes"}, {"enabled": 2}, {"enabled": None}, {"name": "nul\x00byte"},
]


def test_bad_hook_values_raise_and_write_nothing(kernel, repo):
    hook = repo.create_hook("a", "e", "/a")
    before = counts(kernel, TABLES)
    for kwargs in BAD_HOOK_VALUES:
        with pytest.raises(ValueError):
            repo.create_hook(**{"name": "n", "event_name": "e", "script_path": "/s", **kwargs})
        with pytest.raises(ValueError):
            repo.update_hook(hook["id"], **kwargs)
    assert counts(kernel, TABLES) == before
    assert repo.get_hook(hook["id"]) == hook


def test_bad_ids_raise_value_error(repo):
    for bad_id in ("1", None, 1.0, True):
        for call in (repo.get_hook, repo.get_webhook, repo.delete_hook, repo.delete_webhook):
            with pytest.raises(ValueError):
                call(bad_id)
        with pytest.raises(ValueError):
            repo.update_hook(bad_id, name="x")
        with pytest.raises(ValueError):
            repo.record_webhook_triggered(bad_id, True)


def test_record_hook_triggered_counts_in_sql(kernel, repo):
    hook = repo.create_hook("a", "e", "/a")
    repo.record_hook_triggered(hook["id"], True)
    first = repo.get_hook(hook["id"])
    assert (first["trigger_count"], first["last_status"]) == (1, "success")
    assert STAMP.match(first["last_triggered_at"]) and first["updated_at"] == first["last_triggered_at"]
    repo.update_hook_trigger_stats(hook["id"], False)  # legacy name, same function
    second = repo.get_hook(hook["id"])
    assert (second["trigger_count"], second["last_status"]) == (2, "failed")
    assert second["last_triggered_at"] >= first["last_triggered_at"]
    set_columns(kernel, hook_configs, hook_configs.c.id == hook["id"], trigger_count=None)  # legacy NULL counter
    repo.record_hook_triggered(hook["id"], 1)
    assert repo.get_hook(hook["id"])["trigger_count"] == 1
    with pytest.raises(ValueError):
        repo.record_hook_triggered(hook["id"], "yes")
    assert repo.get_hook(hook["id"])["trigger_count"] == 1


def test_delete_hook_deletes_its_logs_only(kernel, repo):
    a = repo.create_hook("a", "e", "/a")
    b = repo.create_hook("b", "e", "/b")
    assert repo.create_webhook("other", "e", "http://h/")["id"] == a["id"]  # ids are per table
    w = repo.create_webhook("w", "e", "http://h/")
    for hook_id in (a["id"], a["id"], b["id"]):
        repo.log_hook_execution(hook_id=hook_id, event_name="e", hook_type="script", success=True)
    repo.log_hook_execution(webhook_id=a["id"], event_name="e", hook_type="webhook")  # same number, a webhook
    repo.log_hook_execution(webhook_id=w["id"], event_name="e", hook_type="webhook")
    assert repo.delete_hook(a["id"]) is True
    assert repo.get_hook(a["id"]) is None
    assert repo.get_hook_log_count(hook_id=a["id"]) == 0  # legacy kept these orphans
    assert repo.get_hook_log_count(hook_id=b["id"]) == 1
    assert repo.get_hook_log_count(webhook_id=a["id"]) == 1
    assert repo.delete_hook_config(b["id"]) is None  # the legacy name removes the logs too
    assert counts(kernel, TABLES) == {"hook_configs": 0, "webhook_configs": 2, "hook_log": 2}
    assert repo.delete_webhook(w["id"]) is True
    assert repo.get_hook_log_count(webhook_id=w["id"]) == 0
    assert repo.delete_webhook(w["id"]) is False
    assert counts(kernel, TABLES) == {"hook_configs": 0, "webhook_configs": 1, "hook_log": 1}


# -- webhooks ------------------------------------------------------------------------------------

def test_create_webhook_config_returns_the_legacy_literal_dict(repo):
    hook = repo.create_webhook_config("Discord", "translation_complete", "https://discord.test/api/x", "s3cret",
                                      retry_count=5, timeout_seconds=20)
    assert list(hook) == WEBHOOK_KEYS
    assert {k: hook[k] for k in WEBHOOK_KEYS[1:13]} == {
        "name": "Discord", "event_name": "translation_complete", "url": "https://discord.test/api/x",
        "secret": "s3cret", "enabled": 1, "retry_count": 5, "timeout_seconds": 20, "last_triggered_at": "",
        "last_status_code": 0, "last_error": "", "consecutive_failures": 0, "trigger_count": 0}
    assert STAMP.match(hook["created_at"]) and hook["created_at"] == hook["updated_at"]
    assert repo.get_webhook_config(hook["id"]) == hook  # the secret is returned to code in clear
    defaults = repo.create_webhook("d", "*", "http://h")
    assert (defaults["secret"], defaults["retry_count"], defaults["timeout_seconds"]) == ("", 3, 10)
    assert repo.create_webhook("off", "e", "http://h", enabled=False)["enabled"] == 0


def test_get_webhooks_ordering_and_filters(repo):
    a = repo.create_webhook("a", "*", "http://a")
    b = repo.create_webhook("b", "e", "http://b", enabled=False)
    c = repo.create_webhook("c", "*", "http://c")
    assert [w["id"] for w in repo.get_webhook_configs()] == [a["id"], b["id"], c["id"]]
    assert [w["id"] for w in repo.get_webhook_configs("*")] == [a["id"], c["id"]]  # "*" is a literal name
    assert [w["id"] for w in repo.get_webhooks("e")] == [b["id"]]
    assert [w["id"] for w in repo.get_webhooks(enabled_only=True)] == [a["id"], c["id"]]
    with pytest.raises(ValueError):
        repo.get_webhooks(enabled_only="no")
    with pytest.raises(ValueError):
        repo.get_hooks(event_name=5)


BAD_URLS = ["ftp://h/x", "http://", "https:/h", "example.org", "", None, 42, "javascript:x", " http://h", "http://[::1"]
BAD_WEBHOOK_VALUES = [
    *({"url": url} for url in BAD_URLS),
    {"retry_count": -1}, {"retry_count": "3"}, {"timeout_seconds": -5}, {"secret": None}, {"secret": 123},
    {"name": None}, {"enabled": "true"},
]


def test_bad_webhook_values_raise_and_write_nothing(kernel, repo):
    hook = repo.create_webhook("a", "e", "https://ok.test/")
    before = counts(kernel, TABLES)
    for kwargs in BAD_WEBHOOK_VALUES:
        with pytest.raises(ValueError):
            repo.create_webhook(**{"name": "n", "event_name": "e", "url": "http://h", **kwargs})
        with pytest.raises(ValueError):
            repo.update_webhook(hook["id"], **kwargs)
    assert counts(kernel, TABLES) == before and repo.get_webhook(hook["id"]) == hook


def test_update_webhook_changes_editable_fields(repo):
    hook = repo.create_webhook("a", "e", "http://a")
    assert repo.update_webhook(hook["id"], name="b", event_name="*", url="HTTPS://b.test/x", secret="new",
                               retry_count=0, timeout_seconds=1) is True
    after = repo.get_webhook(hook["id"])
    assert {k: after[k] for k in ("name", "event_name", "url", "secret", "retry_count", "timeout_seconds")} == {
        "name": "b", "event_name": "*", "url": "HTTPS://b.test/x", "secret": "new", "retry_count": 0,
        "timeout_seconds": 1}
    assert repo.update_webhook_config(hook["id"], secret="") is None
    assert repo.get_webhook(hook["id"])["secret"] == ""


def test_record_webhook_triggered_success_and_failure(repo):
    hook = repo.create_webhook("a", "e", "http://a")
    repo.record_webhook_triggered(hook["id"], False, 503, "Service Unavailable")
    repo.update_webhook_trigger_stats(hook["id"], False, error="timeout")  # legacy name, status_code 0
    failed = repo.get_webhook(hook["id"])
    assert (failed["trigger_count"], failed["consecutive_failures"], failed["last_status_code"],
            failed["last_error"]) == (2, 2, 0, "timeout")
    assert STAMP.match(failed["last_triggered_at"]) and failed["updated_at"] == failed["last_triggered_at"]
    repo.record_webhook_triggered(hook["id"], True, 200, "ignored on success")
    ok = repo.get_webhook(hook["id"])
    assert (ok["trigger_count"], ok["consecutive_failures"], ok["last_status_code"], ok["last_error"]) == (
        3, 0, 200, "")
    with pytest.raises(ValueError):
        repo.record_webhook_triggered(hook["id"], False, "500")
    with pytest.raises(ValueError):
        repo.record_webhook_triggered(hook["id"], False, 500, None)
    assert repo.get_webhook(hook["id"]) == ok


def test_update_webhook_enabled_true_rearms_a_webhook_at_the_failure_limit(kernel, repo):
    hook = repo.create_webhook("a", "e", "http://a")
    for _ in range(WEBHOOK_FAILURE_LIMIT):
        repo.record_webhook_triggered(hook["id"], False, 500, "boom")
    assert repo.get_webhook(hook["id"])["consecutive_failures"] == WEBHOOK_FAILURE_LIMIT
    # editing other fields, or disabling, keeps the failure count (the dispatcher still skips it)
    repo.update_webhook(hook["id"], name="renamed")
    repo.update_webhook(hook["id"], enabled=False)
    assert repo.get_webhook(hook["id"])["consecutive_failures"] == WEBHOOK_FAILURE_LIMIT
    # legacy: no API path reset the counter, so the webhook stayed dead; now enabling re-arms it
    assert repo.update_webhook(hook["id"], enabled=True) is True
    rearmed = repo.get_webhook(hook["id"])
    assert (rearmed["enabled"], rearmed["consecutive_failures"]) == (1, 0)
    assert rearmed["trigger_count"] == WEBHOOK_FAILURE_LIMIT and rearmed["last_error"] == "boom"  # history kept
    for _ in range(3):
        repo.record_webhook_triggered(hook["id"], False)
    hooks_pkg.update_webhook_config(hook["id"], enabled=1)  # legacy name, int flag, package level
    assert repo.get_webhook(hook["id"])["consecutive_failures"] == 0


def test_mask_webhook_masks_the_secret_for_display_only(repo):
    hook = repo.create_webhook("a", "e", "https://user:pa55@hooks.test/x?y=1", "s3cret")
    shown = mask_webhook(hook)
    assert shown["secret"] == "***" and "s3cret" not in repr(shown)
    assert shown["url"] == "https://user:***@hooks.test/x?y=1" and "pa55" not in repr(shown)
    assert {k: v for k, v in shown.items() if k not in ("secret", "url")} == {
        k: v for k, v in hook.items() if k not in ("secret", "url")}
    assert hook["secret"] == "s3cret"  # the caller's dict is untouched
    assert repo.get_webhook(hook["id"])["secret"] == "s3cret"  # and so is the stored row
    plain = mask_webhook(repo.create_webhook("b", "e", "http://h"))
    assert (plain["secret"], plain["url"]) == ("", "http://h")  # "no secret" stays visible


# -- execution log -------------------------------------------------------------------------------

def test_log_hook_execution_returns_the_row_with_success_as_bool(repo):
    entry = repo.log_hook_execution(hook_id=3, event_name="subtitle_downloaded", hook_type="script", success=True,
                                    exit_code=0, stdout="out", stderr="err", duration_ms=12.5)
    assert list(entry) == LOG_KEYS
    assert entry["success"] is True
    assert {k: entry[k] for k in LOG_KEYS[1:12]} == {
        "hook_id": 3, "webhook_id": None, "event_name": "subtitle_downloaded", "hook_type": "script",
        "success": True, "exit_code": 0, "status_code": None, "stdout": "out", "stderr": "err", "error": "",
        "duration_ms": 12.5}
    assert STAMP.match(entry["triggered_at"])
    defaults = repo.create_hook_log()  # repository name, legacy defaults
    assert (defaults["success"], defaults["event_name"], defaults["hook_type"], defaults["duration_ms"]) == (
        False, "", "", 0)
    stored = repo.get_hook_logs(hook_id=3)
    assert stored[0]["success"] == 1 and type(stored[0]["success"]) is int  # raw rows, as legacy


def test_bad_log_values_raise_and_write_nothing(kernel, repo):
    for kwargs in ({"success": "yes"}, {"hook_id": "1"}, {"webhook_id": 1.5}, {"exit_code": "0"},
                   {"status_code": "200"}, {"duration_ms": "5"}, {"duration_ms": -1}, {"duration_ms": float("nan")},
                   {"stdout": None}, {"event_name": None}, {"hook_type": None}):
        with pytest.raises(ValueError):
            repo.log_hook_execution(**kwargs)
    assert counts(kernel, TABLES)["hook_log"] == 0


def test_get_hook_logs_filters_order_and_paging(kernel, repo):
    ids = [repo.log_hook_execution(hook_id=1, event_name=f"e{i}", hook_type="script")["id"] for i in range(5)]
    w = [repo.log_hook_execution(webhook_id=1, event_name="w", hook_type="webhook")["id"] for _ in range(2)]
    # same timestamp on two rows: id breaks the tie, newest first
    with kernel.engine.begin() as conn:
        conn.execute(update(hook_log).where(hook_log.c.id.in_(ids[:2]))
                     .values(triggered_at=iso_in(days=-1)))
    hook_logs = repo.get_hook_logs(1)  # legacy positional order: hook_id first
    assert [e["id"] for e in hook_logs] == [ids[4], ids[3], ids[2], ids[1], ids[0]]
    assert [e["id"] for e in repo.get_hook_logs(None, 1)] == [w[1], w[0]]  # webhook_id second
    assert [e["id"] for e in repo.get_hook_logs(1, 1)] == [e["id"] for e in hook_logs]  # hook_id wins
    assert len(repo.get_hook_logs()) == 7
    assert [e["id"] for e in repo.get_hook_logs(1, None, 2, 1)] == [ids[3], ids[2]]  # limit, offset
    assert repo.get_hook_logs(1, limit=0) == [] and repo.get_hook_logs(1, offset=10) == []
    assert repo.get_hook_logs(hook_id=99) == []
    assert (repo.get_hook_log_count(), repo.get_hook_log_count(1), repo.get_hook_log_count(webhook_id=1),
            repo.get_hook_log_count(hook_id=1, webhook_id=1), repo.get_hook_log_count(hook_id=7)) == (7, 5, 2, 5, 0)
    for bad in ({"limit": -1}, {"offset": -1}, {"limit": "5"}, {"hook_id": "1"}):
        with pytest.raises(ValueError):
            repo.get_hook_logs(**bad)


def test_get_hook_logs_default_limit_is_50(repo):
    for _ in range(55):
        repo.log_hook_execution(hook_id=1, event_name="e", hook_type="script")
    assert len(repo.get_hook_logs(1)) == 50


def test_clear_hook_logs_and_clear_old_hook_logs(kernel, repo):
    fresh = repo.log_hook_execution(hook_id=1, event_name="e", hook_type="script")
    old = [repo.log_hook_execution(hook_id=1, event_name="e", hook_type="script")["id"] for _ in range(3)]
    edge = repo.log_hook_execution(hook_id=1, event_name="e", hook_type="script")["id"]
    for row_id, when in zip(old, (iso_in(days=-40), iso_in(days=-31), iso_in(days=-30, minutes=-1))):
        set_columns(kernel, hook_log, hook_log.c.id == row_id, triggered_at=when)
    set_columns(kernel, hook_log, hook_log.c.id == edge, triggered_at=iso_in(days=-29, hours=-23))
    assert repo.clear_old_hook_logs(30) == 3
    assert sorted(e["id"] for e in repo.get_hook_logs()) == [fresh["id"], edge]
    assert repo.clear_old_hook_logs(30) == 0
    for bad in (-1, "30", None, 10**12):
        with pytest.raises(ValueError):
            repo.clear_old_hook_logs(bad)
    assert repo.clear_hook_logs() == 2
    assert repo.clear_hook_logs() == 0
    assert counts(kernel, TABLES)["hook_log"] == 0


def test_clear_old_hook_logs_zero_days_keeps_nothing_older_than_now(kernel, repo):
    repo.log_hook_execution(hook_id=1, event_name="e", hook_type="script")
    assert repo.clear_old_hook_logs(0) == 1


# -- strings, package functions, concurrency -----------------------------------------------------

def test_strings_round_trip_exactly(repo):
    for value in TRICKY:
        check_round_trip(repo, value)


def check_round_trip(repo, value):
    hook = repo.create_hook(value, value, value)
    assert repo.get_hook(hook["id"])["name"] == value
    assert repo.get_hooks(value)[0]["script_path"] == value
    web = repo.create_webhook(value, value, "https://h.test/" + value, secret=value)
    assert repo.get_webhook(web["id"])["secret"] == value
    assert repo.get_webhooks(value)[0]["url"] == "https://h.test/" + value
    repo.update_webhook(web["id"], name=value + "2")
    assert repo.get_webhook(web["id"])["name"] == value + "2"
    entry = repo.log_hook_execution(hook_id=hook["id"], event_name=value, hook_type="script", stdout=value,
                                    stderr=value, error=value)
    stored = repo.get_hook_logs(hook["id"])[0]
    assert stored["stdout"] == stored["stderr"] == stored["error"] == stored["event_name"] == value
    assert entry["stdout"] == value
    repo.record_webhook_triggered(web["id"], False, 500, value)
    assert repo.get_webhook(web["id"])["last_error"] == value


def test_package_functions_act_on_the_active_kernel(kernel):
    hook = hooks_pkg.create_hook_config("pkg", "e", "/p")
    assert hooks_pkg.get_hook_configs("e") == [hook] == kernel.repo("hooks").get_hooks("e")
    web = hooks_pkg.create_webhook("pkg", "e", "http://h", "s")
    hooks_pkg.log_hook_execution(webhook_id=web["id"], event_name="e", hook_type="webhook", status_code=204,
                                 success=True)
    assert hooks_pkg.get_hook_logs(None, web["id"])[0]["status_code"] == 204
    assert hooks_pkg.get_hook_log_count(webhook_id=web["id"]) == 1
    assert hooks_pkg.delete_webhook(web["id"]) is True
    assert hooks_pkg.get_hook_log_count() == 0
    for name in ("create_hook_config", "get_hook_configs", "get_hook_config", "update_hook_config",
                 "delete_hook_config", "create_webhook_config", "get_webhook_configs", "get_webhook_config",
                 "update_webhook_config", "delete_webhook_config", "log_hook_execution", "get_hook_logs",
                 "clear_hook_logs", "update_hook_trigger_stats", "update_webhook_trigger_stats", "create_hook",
                 "get_hooks", "get_hook", "update_hook", "delete_hook", "record_hook_triggered", "create_webhook",
                 "get_webhooks", "get_webhook", "update_webhook", "delete_webhook", "record_webhook_triggered",
                 "create_hook_log", "get_hook_log_count", "clear_old_hook_logs", "mask_webhook",
                 "WEBHOOK_FAILURE_LIMIT"):
        assert name in hooks_pkg.__all__ and hasattr(hooks_pkg, name), name


def test_concurrent_trigger_stats_lose_no_update(make_kernel):
    """8 threads x 500 calls: 6 deliver the same webhook (all failing), 2 run the same hook."""
    # A generous busy timeout: on a loaded machine SQLite's busy handler (not fair) can keep one of
    # 8 writers waiting longer than the default 5 s; this test is about lost updates, not waiting.
    repo = make_kernel(db_busy_timeout_ms=60_000).repo("hooks")
    web = repo.create_webhook("a", "e", "http://a")
    hook = repo.create_hook("a", "e", "/a")

    def work(n: int) -> None:
        for i in range(500):
            if n < 6:
                repo.record_webhook_triggered(web["id"], False, 500, f"t{n}-{i}")
            else:
                repo.record_hook_triggered(hook["id"], i % 2 == 0)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    after = repo.get_webhook(web["id"])
    assert (after["trigger_count"], after["consecutive_failures"]) == (3000, 3000)
    assert repo.get_hook(hook["id"])["trigger_count"] == 1000


# -- schema and migrations -----------------------------------------------------------------------

def test_single_linear_head(kernel):
    assert kernel.migrator.heads()["hooks"] == "hooks_0001"
    assert [s.revision for s in kernel.migrator.history("hooks")] == ["hooks_0001"]
    assert kernel.migrator.current()["hooks"] == "hooks_0001"


def test_models_match_the_migrated_schema(kernel):
    assert model_drift(kernel, TABLES) == []


def test_migrations_round_trip(storage, empty_database):
    with boot(empty_database(storage)) as kernel:
        assert set(TABLES) <= set(inspect(kernel.engine).get_table_names())
        hook = kernel.repo("hooks").create_hook("a", "e", "/a")
        kernel.migrator.downgrade("base", domain="hooks")
        names = set(inspect(kernel.engine).get_table_names())
        assert not set(TABLES) & names
        assert kernel.migrator.current()["hooks"] is None
        kernel.migrator.upgrade(domain="hooks")
        assert set(TABLES) <= set(inspect(kernel.engine).get_table_names())
        assert kernel.migrator.current()["hooks"] == "hooks_0001"
        again = kernel.repo("hooks").create_hook("b", "e", "/b")
        assert again["id"] == 1 and hook["id"] == 1  # a fresh table after the round trip


def test_baseline_reproduces_the_legacy_sqlite_schema(empty_database):
    compared = compare_with_legacy(empty_database, TABLES, describer=describe_sqlite)  # every domain at head
    assert compared.ours == compared.legacy
    assert all(described["autoincrement"] for described in compared.ours.values())
    ours = sqlite3.connect(compared.url.removeprefix("sqlite:///"))
    ours.execute("INSERT INTO hook_log (event_name, hook_type, success) VALUES ('e', 'script', 1)")
    default_stamp = ours.execute("SELECT triggered_at FROM hook_log").fetchone()[0]
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", default_stamp)  # datetime('now'), as legacy
    ours.close()


def test_baseline_schema_on_both_dialects(kernel):
    insp = reflect(kernel.engine)
    expected_defaults = {
        "hook_configs": {"hook_type": "'script'", "enabled": "1", "script_path": "''", "timeout_seconds": "30",
                         "trigger_count": "0"},
        "webhook_configs": {"secret": "''", "enabled": "1", "retry_count": "3", "timeout_seconds": "10",
                            "last_status_code": "0", "consecutive_failures": "0"},
        "hook_log": {"stdout": "''", "duration_ms": "0"},
    }
    for table in (hook_configs, webhook_configs, hook_log):
        cols = insp.get_columns(table.name)
        assert [c["name"] for c in cols] == [c.name for c in table.columns]
        assert {c["name"]: c["nullable"] for c in cols if c["name"] != "id"} == {
            c.name: c.nullable for c in table.columns if c.name != "id"}
        for name, literal in expected_defaults[table.name].items():
            default = next(c["default"] for c in cols if c["name"] == name)
            assert default is not None and default.startswith(literal), (table.name, name, default)
        stamp_default = next(c["default"] for c in cols if c["name"] == cols[-1]["name"])
        assert stamp_default and any(f in stamp_default.lower() for f in ("datetime", "to_char", "utc_timestamp"))
        assert {i["name"]: i["column_names"] for i in insp.get_indexes(table.name)} == {
            i.name: [c.name for c in i.columns] for i in table.indexes}
    # the legacy-format server default works on both dialects when a writer omits the stamp
    with kernel.engine.begin() as conn:
        conn.execute(hook_log.insert().values(event_name="e", hook_type="script", success=0))
        stamp = conn.execute(select(hook_log.c.triggered_at)).scalar_one()
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", stamp)
        assert conn.execute(select(func.count()).select_from(hook_log)).scalar_one() == 1


def test_legacy_rows_in_a_stamped_database(tmp_path):
    """A legacy SQLite database stamped at the baseline works with the repository unchanged."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    create_legacy_tables(
        url, TABLES,
        "INSERT INTO hook_configs (name, event_name, script_path, created_at, updated_at, trigger_count)"
        " VALUES ('old', 'e', '/x', '2025-01-01T10:00:00', '2025-01-01T10:00:00', NULL)",
        "INSERT INTO webhook_configs (name, event_name, url, secret, consecutive_failures, created_at,"
        " updated_at) VALUES ('w', '*', 'http://h', 'k', 12, '2025-01-01T10:00:00.5', '2025-01-01T10:00:00.5')",
        "INSERT INTO hook_log (hook_id, event_name, hook_type, success, triggered_at)"
        " VALUES (1, 'e', 'script', 1, '2025-01-01T10:00:00')")
    with boot(url, auto_migrate=False) as kernel:
        kernel.migrator.stamp({"hooks": "hooks_0001"})
        assert kernel.migrator.upgrade(domain="hooks") == []  # the baseline is the head: nothing to do
        repo = kernel.repo("hooks")
        repo.record_hook_triggered(1, True)
        assert repo.get_hook(1)["trigger_count"] == 1  # NULL counter of a legacy row
        assert repo.update_webhook(1, enabled=True) and repo.get_webhook(1)["consecutive_failures"] == 0
        assert repo.clear_old_hook_logs(1) == 1
        assert repo.create_hook("new", "e", "/n")["id"] == 2
