"""``sublarr hooks add/delete/enable/disable``, ``sublarr webhooks add/delete/enable/disable/list``, and the
README's signature-verification code run against a real delivery to a local HTTP receiver.

On every storage driver (``cli_settings`` is on the test's database).
"""

from __future__ import annotations

import json
import re
from email.message import Message
from pathlib import Path

import pytest

from sublarr.plugins.hooks import WEBHOOK_FAILURE_LIMIT
from tests.events.test_dispatch import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("sublarr: error: ") and err.count("\n") == 1, err
    return err.strip().removeprefix("sublarr: error: ")


# -- script hooks ------------------------------------------------------------------------------------

def test_hooks_add_disable_enable_delete(events_kernel, cli_settings, make_script, capsys):
    make_script("notify.sh", "exit 0")
    repo = events_kernel().repo("hooks")
    assert run_cli(cli_settings, "hooks", "add", "notify", "batch_complete", "notify.sh", "--disabled") == 0
    [hook] = repo.get_hooks()
    assert f"hook {hook['id']} added: notify runs" in capsys.readouterr().out
    assert hook["enabled"] == 0

    assert run_cli(cli_settings, "hooks", "enable", str(hook["id"])) == 0
    assert capsys.readouterr().out == f"hook {hook['id']} enabled\n"
    assert repo.get_hook(hook["id"])["enabled"] == 1
    assert run_cli(cli_settings, "hooks", "disable", str(hook["id"])) == 0
    assert repo.get_hook(hook["id"])["enabled"] == 0
    assert run_cli(cli_settings, "hooks", "list") == 0
    assert re.search(rf"^{hook['id']}\s+notify\s+batch_complete\s+no\s", capsys.readouterr().out, re.M)

    repo.log_hook_execution(hook_id=hook["id"], event_name="batch_complete", hook_type="script", success=True)
    assert run_cli(cli_settings, "hooks", "delete", str(hook["id"])) == 0
    assert capsys.readouterr().out == f"hook {hook['id']} deleted: notify (and its log entries)\n"
    assert repo.get_hooks() == [] and repo.get_hook_log_count(hook_id=hook["id"]) == 0


@pytest.mark.parametrize("command", ["delete", "enable", "disable", "test"])
def test_hooks_unknown_id_is_one_line_exit_2(cli_settings, command, capsys):
    assert run_cli(cli_settings, "hooks", command, "999") == 2
    assert one_line_error(capsys) == "no script hook with id 999"


# -- webhooks ----------------------------------------------------------------------------------------

def _added_id(out: str) -> int:
    return int(re.search(r"^webhook (\d+) added", out, re.M).group(1))


def test_webhooks_add_generates_a_secret_shown_once(events_kernel, cli_settings, webhook_server, capsys):
    repo = events_kernel().repo("hooks")
    assert run_cli(cli_settings, "webhooks", "add", "notify", webhook_server.url(), "--event",
                   "subtitle_downloaded", "--generate-secret", "--retries", "0") == 0
    out = capsys.readouterr().out
    webhook_id = _added_id(out)
    secret = re.search(r"^secret: (\S+)$", out, re.M).group(1)
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert f"notify posts subtitle_downloaded to {webhook_server.url()}" in out and "shown only this once" in out
    stored = repo.get_webhook(webhook_id)
    assert (stored["secret"], stored["event_name"], stored["retry_count"], stored["enabled"]) == (
        secret, "subtitle_downloaded", 0, 1)

    assert run_cli(cli_settings, "webhooks", "list") == 0
    out = capsys.readouterr().out
    assert secret not in out and "***" in out and "never" in out
    assert run_cli(cli_settings, "webhooks", "list", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["secret"], shown["last_outcome"], shown["paused"]) == ("***", None, False)

    # A second secret for another webhook differs; a given --secret is stored and never printed.
    assert run_cli(cli_settings, "webhooks", "add", "other", webhook_server.url("/b"), "--event", "*",
                   "--secret", "typed-secret-42") == 0
    out = capsys.readouterr().out
    assert "typed-secret-42" not in out and "secret:" not in out
    assert repo.get_webhook(_added_id(out))["secret"] == "typed-secret-42"


def test_webhooks_list_shows_the_last_delivery(events_kernel, cli_settings, webhook_server, capsys):
    repo = events_kernel().repo("hooks")
    assert run_cli(cli_settings, "webhooks", "add", "w", webhook_server.url(), "--event", "*", "--retries", "0") == 0
    webhook_id = _added_id(capsys.readouterr().out)

    assert run_cli(cli_settings, "webhooks", "test", str(webhook_id)) == 0
    capsys.readouterr()
    assert run_cli(cli_settings, "webhooks", "list", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["last_outcome"], shown["last_status_code"], shown["last_error"]) == ("ok", 200, "")
    assert run_cli(cli_settings, "webhooks", "list") == 0
    assert "ok (HTTP 200, " in capsys.readouterr().out

    webhook_server.default = 503
    assert run_cli(cli_settings, "webhooks", "test", str(webhook_id)) == 1
    capsys.readouterr()
    assert run_cli(cli_settings, "webhooks", "list") == 0
    out = capsys.readouterr().out
    assert "failed (HTTP 503, " in out and "HTTP 503 Service Unavailable" in out
    assert run_cli(cli_settings, "webhooks", "list", "--json") == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert (shown["last_outcome"], shown["last_error"], shown["consecutive_failures"]) == (
        "failed", "HTTP 503 Service Unavailable", 1)

    for _ in range(WEBHOOK_FAILURE_LIMIT):
        repo.record_webhook_triggered(webhook_id, False, status_code=503, error="HTTP 503 Service Unavailable")
    assert run_cli(cli_settings, "webhooks", "list") == 0
    out = capsys.readouterr().out
    assert re.search(rf"^{webhook_id}\s+w\s+\*\s+paused\s", out, re.M) and "webhooks enable ID` resumes" in out

    assert run_cli(cli_settings, "webhooks", "enable", str(webhook_id)) == 0
    assert capsys.readouterr().out == f"webhook {webhook_id} enabled (failure count reset)\n"
    assert repo.get_webhook(webhook_id)["consecutive_failures"] == 0
    assert run_cli(cli_settings, "webhooks", "disable", str(webhook_id)) == 0
    assert capsys.readouterr().out == f"webhook {webhook_id} disabled\n"
    assert repo.get_webhook(webhook_id)["enabled"] == 0

    assert run_cli(cli_settings, "webhooks", "delete", str(webhook_id)) == 0
    assert capsys.readouterr().out == f"webhook {webhook_id} deleted: w (and its log entries)\n"
    assert repo.get_webhooks() == [] and repo.get_hook_log_count(webhook_id=webhook_id) == 0


def test_webhooks_add_masks_a_url_password(events_kernel, cli_settings, webhook_server, capsys):
    url = webhook_server.url().replace("http://", "http://user:pw-in-url@")
    assert run_cli(cli_settings, "webhooks", "add", "p", url, "--event", "*") == 0
    out = capsys.readouterr().out
    assert "pw-in-url" not in out and "http://user:***@127.0.0.1:" in out
    assert events_kernel().repo("hooks").get_webhooks()[0]["url"] == url


@pytest.mark.parametrize("command", ["delete", "enable", "disable", "test"])
def test_webhooks_unknown_id_is_one_line_exit_2(cli_settings, command, capsys):
    assert run_cli(cli_settings, "webhooks", command, "999") == 2
    assert one_line_error(capsys) == "no webhook with id 999"


@pytest.mark.parametrize(("url", "message"), [
    ("http://169.254.169.254/latest/meta-data/", "refused: 169.254.169.254 is a cloud metadata address (always blocked)"),
    ("http://user:pw-in-url@10.1.2.3/hook", "refused: 10.1.2.3 is a private address; add the host or its network"),
    ("ftp://example.org/x", "url must start with http:// or https:// and name a host"),
    ("http://", "url must start with http:// or https:// and name a host"),
])
def test_webhooks_add_refuses_a_url_in_one_line(events_kernel, cli_settings, url, message, capsys):
    assert run_cli(cli_settings, "webhooks", "add", "bad", url, "--event", "*") == 2
    error = one_line_error(capsys)
    assert error.startswith(message) and "pw-in-url" not in error
    assert events_kernel().repo("hooks").get_webhooks() == []


@pytest.mark.parametrize(("args", "message"), [
    (["--event", "no_such_event"], "unknown event 'no_such_event'"),
    (["--event", "hook_executed"], "'hook_executed' is delivered to plugins only"),
    ([], "Missing option '--event'"),
    (["--event", "*", "--secret", "s", "--generate-secret"], "give --secret or --generate-secret, not both"),
    (["--event", "*", "--secret", " "], "must not be empty"),
])
def test_webhooks_add_usage_errors(events_kernel, cli_settings, args, message, capsys):
    assert run_cli(cli_settings, "webhooks", "add", "bad", "https://example.org/hook", *args) == 2
    err = capsys.readouterr().err
    assert message in err
    if message.startswith(("unknown event", "'hook_executed'")):  # ours; click words its own
        assert err.startswith("sublarr: error: ") and err.count("\n") == 1
    assert events_kernel().repo("hooks").get_webhooks() == []


# -- the README's verification code against a real delivery --------------------------------------------

def readme_verifier() -> dict:
    """The Python block of the README's "Verifying a delivery", executed: its functions by name."""
    section = README.read_text().split("### Verifying a delivery", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace


def as_http_headers(headers: dict[str, str]) -> Message:
    """The headers as http.server hands them to a receiver (case-insensitive names)."""
    message = Message()
    for name, value in headers.items():
        message[name] = value
    return message


@pytest.mark.parametrize("secret_args", [["--generate-secret"], ["--secret", "plain typed secret ü"]])
def test_readme_snippet_verifies_a_real_delivery(events_kernel, cli_settings, webhook_server, secret_args, capsys):
    verify = readme_verifier()
    assert run_cli(cli_settings, "webhooks", "add", "r", webhook_server.url(), "--event", "*", *secret_args) == 0
    out = capsys.readouterr().out
    secret = re.search(r"^secret: (\S+)$", out, re.M).group(1) if "--generate-secret" in secret_args \
        else secret_args[1]
    assert run_cli(cli_settings, "webhooks", "test", str(_added_id(out))) == 0
    [request] = webhook_server.requests()
    headers = as_http_headers(request.headers)

    assert verify["verify_sublarr_signature"](secret, headers, request.body)
    assert verify["verify_standard_signature"](secret, headers, request.body)
    assert json.loads(request.body)["event_name"] == "test"

    tampered = request.body.replace(b"Test delivery", b"Evil delivery")
    assert tampered != request.body
    for check in ("verify_sublarr_signature", "verify_standard_signature"):
        assert not verify[check](secret, headers, tampered)
        assert not verify[check](secret + "x", headers, request.body)
    assert not verify["verify_standard_signature"](secret, headers, request.body, tolerance=-1)  # too old
    replayed = as_http_headers({**request.headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)})
    assert not verify["verify_standard_signature"](secret, replayed, request.body)
