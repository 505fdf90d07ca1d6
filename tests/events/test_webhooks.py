"""Webhook delivery against a real HTTP server on 127.0.0.1: envelope, signatures, retries, refusals.

Signatures are verified here independently of the code under test (hmac + base64 from the
standard library, following the Standard Webhooks verification steps).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from sublarr import __version__
from sublarr.plugins.hooks.ssrf import DeliveryRefused
from sublarr.plugins.hooks.webhooks import backoff_delay, deliver_webhook
from tests.events.conftest import closed_port
from tests.webhook_rows import store_webhook

ALLOW_LOOPBACK = ["127.0.0.1"]


def verify_sublarr_signature(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def verify_standard_webhooks(key: bytes, headers: dict[str, str], body: bytes) -> bool:
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may list several space-separated signatures ("v1,<sig> v1,<sig>").
    return any(hmac.compare_digest(f"v1,{expected}", candidate) for candidate in headers["webhook-signature"].split())


def test_signed_delivery(events_kernel, webhook_server, recorder):
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    kernel.plugins.register(recorder)
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("receiver", "subtitle_downloaded", webhook_server.url("/in?src=sublarr"),
                                  secret="s3cret-value")

    result = deliver_webhook(kernel, webhook, "subtitle_downloaded", {"file_path": "/m/a.mkv", "score": 88})

    assert result.success and result.status_code == 200 and result.attempts == 1
    [request] = webhook_server.requests()
    assert request.path == "/in?src=sublarr"
    body = json.loads(request.body)
    assert set(body) == {"event_name", "version", "timestamp", "data"}
    assert (body["event_name"], body["version"], body["data"]) == ("subtitle_downloaded", 1,
                                                                   {"file_path": "/m/a.mkv", "score": 88})
    sent_at = datetime.fromisoformat(body["timestamp"])
    assert sent_at.tzinfo is not None and abs((datetime.now(timezone.utc) - sent_at).total_seconds()) < 60
    headers = request.headers
    assert headers["user-agent"] == f"Sublarr-Webhook/{__version__}"
    assert headers["content-type"] == "application/json"
    assert headers["x-sublarr-event"] == "subtitle_downloaded"
    assert headers["host"] == f"127.0.0.1:{webhook_server.port}"
    assert verify_sublarr_signature("s3cret-value", request.body, headers["x-sublarr-signature"])
    assert verify_standard_webhooks(b"s3cret-value", headers, request.body)
    assert headers["webhook-id"] == result.message_id and headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    # A tampered body fails both checks.
    assert not verify_sublarr_signature("s3cret-value", request.body + b" ", headers["x-sublarr-signature"])
    assert not verify_standard_webhooks(b"s3cret-value", headers, request.body.replace(b"88", b"99"))

    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])
    assert (entry["hook_type"], entry["success"], entry["status_code"], entry["error"]) == ("webhook", 1, 200, "")
    stored = repo.get_webhook(webhook["id"])
    assert (stored["trigger_count"], stored["last_status_code"], stored["consecutive_failures"]) == (1, 200, 0)
    assert recorder.named("hook_executed") == [{"hook_id": None, "webhook_id": webhook["id"],
                                                "event_name": "subtitle_downloaded", "success": True,
                                                "exit_code": None, "status_code": 200}]


def test_whsec_secret_is_a_base64_key_for_standard_webhooks(events_kernel, webhook_server):
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    webhook = kernel.repo("hooks").create_webhook("std", "*", webhook_server.url(), secret=secret)
    assert deliver_webhook(kernel, webhook, "batch_complete", {"total": 1}).success
    [request] = webhook_server.requests()
    assert verify_standard_webhooks(key, request.headers, request.body)
    assert verify_sublarr_signature(secret, request.body, request.headers["x-sublarr-signature"])


def test_without_secret_no_signature_headers(events_kernel, webhook_server):
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    webhook = kernel.repo("hooks").create_webhook("plain", "*", webhook_server.url())
    assert deliver_webhook(kernel, webhook, "batch_complete", {}).success
    [request] = webhook_server.requests()
    assert "x-sublarr-signature" not in request.headers and "webhook-signature" not in request.headers
    assert request.headers["webhook-id"].startswith("msg_")  # still there: receivers may dedupe on it


def test_retries_after_server_errors_then_succeeds(events_kernel, webhook_server):
    webhook_server.statuses.extend([503, 500])
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("flaky", "*", webhook_server.url(), secret="k", retry_count=3)

    result = deliver_webhook(kernel, webhook, "batch_complete", {"total": 3})

    assert (result.success, result.status_code, result.attempts) == (True, 200, 3)
    requests = webhook_server.requests()
    assert len(requests) == 3
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # one message, three attempts
    assert len({r.body for r in requests}) == 1
    for request in requests:  # each attempt is signed on its own
        assert verify_standard_webhooks(b"k", request.headers, request.body)
    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])  # one delivery, one log entry
    assert (entry["success"], entry["status_code"]) == (1, 200)
    assert repo.get_webhook(webhook["id"])["consecutive_failures"] == 0


def test_retries_are_exhausted(events_kernel, webhook_server):
    webhook_server.default = 502
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("down", "*", webhook_server.url(), retry_count=2)

    result = deliver_webhook(kernel, webhook, "batch_complete", {})

    assert (result.success, result.status_code, result.attempts) == (False, 502, 3)
    assert result.error == "HTTP 502 Bad Gateway"
    assert len(webhook_server.requests()) == 3
    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])
    assert (entry["success"], entry["status_code"], entry["error"]) == (0, 502, "HTTP 502 Bad Gateway")
    stored = repo.get_webhook(webhook["id"])
    assert (stored["consecutive_failures"], stored["last_status_code"], stored["last_error"]) == (
        1, 502, "HTTP 502 Bad Gateway")


def test_client_errors_are_not_retried(events_kernel, webhook_server):
    webhook_server.default = 404
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    webhook = kernel.repo("hooks").create_webhook("gone", "*", webhook_server.url(), retry_count=3)
    result = deliver_webhook(kernel, webhook, "batch_complete", {})
    assert (result.success, result.status_code, result.attempts, result.error) == (False, 404, 1, "HTTP 404 Not Found")
    assert len(webhook_server.requests()) == 1


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 304])
def test_a_redirect_is_a_failed_delivery_and_is_not_followed(events_kernel, webhook_server, status):
    """Issue 15 item 4: a 3xx answer was logged as a successful delivery."""
    webhook_server.default = status
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("moved", "*", webhook_server.url(), retry_count=3)
    result = deliver_webhook(kernel, webhook, "batch_complete", {})
    assert (result.success, result.status_code, result.attempts) == (False, status, 1)  # not retried
    assert result.error.startswith(f"HTTP {status}") and "redirects are not followed" in result.error
    assert len(webhook_server.requests()) == 1
    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])
    assert entry["success"] == 0 and entry["status_code"] == status
    assert repo.get_webhook(webhook["id"])["consecutive_failures"] == 1


def test_connection_errors_are_retried(events_kernel):
    port = closed_port()
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook("nobody", "*", f"http://127.0.0.1:{port}/hook", retry_count=2)

    result = deliver_webhook(kernel, webhook, "batch_complete", {})

    assert (result.success, result.status_code, result.attempts) == (False, None, 3)
    assert result.error.startswith(f"connection to http://127.0.0.1:{port} failed:")
    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])
    assert entry["status_code"] is None and entry["error"] == result.error
    assert repo.get_webhook(webhook["id"])["last_status_code"] == 0


def test_timeout(events_kernel, webhook_server):
    webhook_server.delay = 3
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    webhook = kernel.repo("hooks").create_webhook("slow", "*", webhook_server.url(), timeout_seconds=1, retry_count=0)
    started = time.monotonic()
    result = deliver_webhook(kernel, webhook, "batch_complete", {})
    assert time.monotonic() - started < 2.5
    assert (result.success, result.attempts, result.error) == (
        False, 1, f"timed out after 1s (http://127.0.0.1:{webhook_server.port})")


def test_backoff_is_exponential_and_capped():
    assert [backoff_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_delay(20, 2.0) == 120.0
    assert backoff_delay(3, 0.0) == 0.0


def test_retry_waits_follow_the_backoff_factor(events_kernel, webhook_server):
    webhook_server.default = 503
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK, webhook_backoff_factor=0.2)
    webhook = kernel.repo("hooks").create_webhook("wait", "*", webhook_server.url(), retry_count=2)
    started = time.monotonic()
    deliver_webhook(kernel, webhook, "batch_complete", {})
    assert time.monotonic() - started >= 0.2 + 0.4  # waits of 0.2 and 0.4 s before the two retries


# -- refusals: logged, never retried ------------------------------------------------------------------

def _refused(kernel, url: str) -> str:
    repo = kernel.repo("hooks")
    webhook = store_webhook(kernel, "target", "*", url, retry_count=3)  # a row past the save-time check
    result = deliver_webhook(kernel, webhook, "batch_complete", {})
    assert (result.success, result.attempts, result.status_code) == (False, 0, None)
    [entry] = repo.get_hook_logs(webhook_id=webhook["id"])
    assert entry["success"] == 0 and entry["error"] == result.error
    assert repo.get_webhook(webhook["id"])["consecutive_failures"] == 1
    return result.error


def test_loopback_is_refused_when_not_allow_listed(events_kernel, webhook_server):
    kernel = events_kernel()
    assert "127.0.0.1 is a loopback address" in _refused(kernel, webhook_server.url())
    assert "resolves to" in _refused(kernel, webhook_server.url(host="localhost"))
    assert webhook_server.requests() == []


def test_metadata_is_refused_even_when_allow_listed(events_kernel):
    kernel = events_kernel(webhook_allowed_hosts=["169.254.169.254", "169.254.0.0/16", "0.0.0.0/0", "::/0"])
    for url in ("http://169.254.169.254/latest/meta-data/", "http://169.254.0.23/", "http://[::a9fe:a9fe]/",
                "http://[fe80::a9fe:a9fe]/", "http://192.0.0.192/"):
        assert "cloud metadata address (always blocked)" in _refused(kernel, url)


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://169.254.169.254/latest/meta-data/", ["0.0.0.0/0", "169.254.169.254"]),
    ("http://169.254.0.23/", ["0.0.0.0/0", "169.254.0.0/16"]),
    ("http://192.0.0.192/opc/v2/instance/", []),
    ("http://[::a9fe:a9fe]/", ["::/0", "0.0.0.0/0"]),
    ("http://[fe80::a9fe:a9fe]/", ["::/0", "fe80::/10", "0.0.0.0/0"]),
    ("http://127.0.0.1:9/hook", []),
    ("http://localhost:9/hook", []),
    ("http://10.1.2.3/hook", ["192.168.0.0/16"]),
])
def test_a_webhook_is_checked_when_it_is_saved_with_the_delivery_message(events_kernel, url, allowed):
    """Issue 15 item 4: create_webhook accepted a cloud metadata URL; only the delivery refused it."""
    kernel = events_kernel(webhook_allowed_hosts=allowed)
    repo = kernel.repo("hooks")
    delivery_message = _refused(kernel, url)
    with pytest.raises(DeliveryRefused) as created:
        repo.create_webhook("new", "*", url)
    assert str(created.value) == delivery_message
    assert isinstance(created.value, ValueError)
    ok = repo.create_webhook("public", "*", "http://8.8.8.8/hook")
    with pytest.raises(DeliveryRefused) as updated:
        repo.update_webhook(ok["id"], url=url, name="changed")
    assert str(updated.value) == delivery_message
    assert repo.get_webhook(ok["id"])["url"] == "http://8.8.8.8/hook" and repo.get_webhook(ok["id"])["name"] == "public"
    assert [w["name"] for w in repo.get_webhooks()] == ["target", "public"]  # nothing else written


def test_saving_accepts_allow_listed_and_unresolvable_hosts(events_kernel, webhook_server):
    kernel = events_kernel(webhook_allowed_hosts=["127.0.0.1", "10.0.0.0/8"])
    repo = kernel.repo("hooks")
    assert repo.create_webhook("lan", "*", "http://10.1.2.3/hook")["url"] == "http://10.1.2.3/hook"
    assert repo.create_webhook("mapped", "*", "http://[::ffff:10.1.2.3]/hook")  # treated as 10.1.2.3
    local = repo.create_webhook("local", "*", webhook_server.url())
    # a name that does not resolve now (DNS down, not yet registered) is saved; the delivery checks it again
    later = repo.create_webhook("later", "*", "https://hooks.invalid/x")
    assert repo.update_webhook(local["id"], url="https://other.invalid/y")
    assert "cannot resolve host" in deliver_webhook(kernel, later, "batch_complete", {}).error


def test_allow_listed_host_name_is_delivered(events_kernel, webhook_server):
    kernel = events_kernel(webhook_allowed_hosts=["localhost"])
    webhook = kernel.repo("hooks").create_webhook("by-name", "*", webhook_server.url(host="localhost"))
    result = deliver_webhook(kernel, webhook, "batch_complete", {})
    assert result.success  # had localhost resolved to ::1 first, the next checked address is tried
    assert webhook_server.requests()[0].headers["host"] == f"localhost:{webhook_server.port}"


def test_stored_file_and_ftp_urls_are_refused(events_kernel):
    """The repository only stores http(s) URLs, but an adopted legacy database may hold anything:
    the guard refuses at delivery time whatever the row says."""
    kernel = events_kernel(webhook_allowed_hosts=["0.0.0.0/0"])
    repo = kernel.repo("hooks")
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/upload"):
        webhook = repo.create_webhook("legacy", "*", "http://8.8.8.8/placeholder")
        with kernel.transaction() as session:
            session.execute(text("UPDATE webhook_configs SET url = :url WHERE id = :id"),
                            {"url": url, "id": webhook["id"]})
        result = deliver_webhook(kernel, repo.get_webhook(webhook["id"]), "batch_complete", {})
        assert result.error.startswith(f"refused: scheme {url.split(':')[0]!r} is not allowed")
        assert result.attempts == 0


# -- secrets stay secret --------------------------------------------------------------------------------

def test_secrets_and_url_tokens_never_reach_logs_or_errors(events_kernel, webhook_server, caplog):
    webhook_server.default = 500
    kernel = events_kernel(webhook_allowed_hosts=ALLOW_LOOPBACK)
    repo = kernel.repo("hooks")
    url = f"http://bot:pa55word@127.0.0.1:{webhook_server.port}/api/webhooks/123/T0KEN-in-path"
    webhook = repo.create_webhook("discord-like", "*", url, secret="very-secret-key", retry_count=1)

    with caplog.at_level(logging.DEBUG):
        result = deliver_webhook(kernel, webhook, "batch_complete", {})

    assert not result.success
    request = webhook_server.requests()[0]
    assert request.path == "/api/webhooks/123/T0KEN-in-path"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"bot:pa55word").decode()
    stored = [repo.get_hook_logs(webhook_id=webhook["id"])[0]["error"], repo.get_webhook(webhook["id"])["last_error"]]
    for text_ in [*stored, result.error, caplog.text]:
        for secret in ("very-secret-key", "pa55word", "T0KEN-in-path"):
            assert secret not in text_
