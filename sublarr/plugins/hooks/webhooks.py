"""Delivering a webhook: signed JSON POST through the SSRF guard, retried with exponential backoff.

The request (legacy ``WebhookDispatcher`` shape, kept so existing receivers keep working)::

    POST <url>
    User-Agent: Sublarr-Webhook/<sublarr version>
    Content-Type: application/json
    X-Sublarr-Event: <event>
    webhook-id: msg_<hex>                   same id on every retry of one delivery (receivers dedupe)
    webhook-timestamp: <unix seconds>       of this attempt
    X-Sublarr-Signature: sha256=<hex>       with a secret: HMAC-SHA256(secret, body)
    webhook-signature: v1,<base64>          with a secret: Standard Webhooks signature

    {"event_name": ..., "version": 1, "timestamp": <event time, ISO 8601 UTC>, "data": {...}}

Signing keys. ``X-Sublarr-Signature`` uses the secret's UTF-8 bytes, as Sublarr always did.
``webhook-signature`` signs ``f"{webhook-id}.{webhook-timestamp}.{body}"``; the Standard Webhooks
spec gives secrets as ``whsec_<base64 key>``: such a secret is base64-decoded and the decoded
bytes are the key (what the spec's reference libraries do). Any other secret (a plain string,
as Sublarr users have them) is used as its UTF-8 bytes, so both headers verify with the one
secret the user typed; with the Standard Webhooks libraries, configure the receiver with
``"whsec_" + base64(secret)``. ``sublarr webhooks add --generate-secret`` makes a ``whsec_`` secret
(:func:`generate_secret`). The README ("Verifying a delivery") documents this for receivers, with code.

Retries (legacy: urllib3 ``Retry(total=retry_count, backoff_factor=2, status_forcelist=[429, 500,
502, 503, 504])``): connection errors, timeouts, malformed responses and those statuses are
retried up to ``retry_count`` times, waiting ``factor * 2 ** (n - 1)`` seconds before retry
``n`` (at most 120 s; a ``Retry-After`` of a 429/503 is honoured within that cap). The factor is
the ``webhook_backoff_factor`` setting. A refusal by the SSRF guard or a certificate that does not
verify is never retried. Success is a 2xx status; a 3xx answer is a failed delivery (redirects are
not followed: the new location was never checked by the guard) and is not retried.

Each delivery is logged with ``create_hook_log`` and ``record_webhook_triggered``, then
``hook_executed`` is emitted. The secret is registered with the log scrubber, and messages name
only ``scheme://host:port``: webhook paths often carry tokens (Discord, Slack).
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sublarr import __version__
from sublarr.core.secrets import registry

from .repository import WEBHOOK_FAILURE_LIMIT, HookRepository
from .ssrf import DeliveryRefused, Target, check_url, open_connection

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.hooks.webhooks")

USER_AGENT = f"Sublarr-Webhook/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})  # urllib3 honours Retry-After on these (413 cannot be retried here)
DEFAULT_BACKOFF_FACTOR = 2.0  # legacy urllib3 backoff_factor
BACKOFF_MAX = 120.0  # seconds, urllib3's DEFAULT_BACKOFF_MAX
DEFAULT_TIMEOUT = 10  # seconds, the column default; used when a row holds 0 or NULL
DEFAULT_RETRIES = 3  # the column default; used when a row holds NULL


@dataclass
class WebhookResult:
    """What one delivery did (also the ``hook_log`` row's content)."""

    webhook_id: int
    event_name: str
    success: bool
    status_code: int | None
    error: str = ""
    attempts: int = 0
    duration_ms: float = 0.0
    message_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- which webhooks get an event -------------------------------------------------------------------

def matches(webhook: Mapping[str, Any], event: str) -> bool:
    """A webhook takes its exact event, or every event with ``"*"``."""
    return webhook.get("event_name") in (event, "*")


def deliverable(webhook: Mapping[str, Any]) -> bool:
    """Enabled and below the failure limit (legacy skip; ``update_webhook(enabled=True)`` re-arms)."""
    return bool(webhook.get("enabled")) and (webhook.get("consecutive_failures") or 0) < WEBHOOK_FAILURE_LIMIT


# -- the request -----------------------------------------------------------------------------------

def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def utc_timestamp() -> str:
    """The envelope's event time: aware UTC ISO 8601 (as the legacy dispatcher wrote it)."""
    return datetime.now(timezone.utc).isoformat()


def envelope(event: str, payload: Mapping[str, Any], timestamp: str) -> bytes:
    """The request body: ``{"event_name", "version": 1, "timestamp", "data"}`` as UTF-8 JSON."""
    return json.dumps({"event_name": event, "version": 1, "timestamp": timestamp, "data": dict(payload)},
                      default=str).encode("utf-8")


def sublarr_signature(secret: str, body: bytes) -> str:
    """``X-Sublarr-Signature``: ``sha256=`` + hex HMAC-SHA256 keyed with the secret's UTF-8 bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def generate_secret() -> str:
    """A new signing secret in the Standard Webhooks format: ``whsec_`` + base64 of 32 random bytes
    (receivers using the Standard Webhooks libraries take it as it is)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def standard_webhooks_key(secret: str) -> bytes:
    """The Standard Webhooks signing key: ``whsec_<base64>`` decoded, else the secret's UTF-8 bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            pass  # not base64 after all: a plain secret that happens to start with "whsec_"
    return secret.encode("utf-8")


def standard_webhooks_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,`` + base64 HMAC-SHA256 over ``f"{id}.{timestamp}.{body}"``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def request_headers(event: str, body: bytes, secret: str, message_id: str, timestamp: int) -> dict[str, str]:
    """Headers of one attempt (``timestamp``: unix seconds of the attempt)."""
    headers = {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "X-Sublarr-Event": event,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["X-Sublarr-Signature"] = sublarr_signature(secret, body)
        headers["webhook-signature"] = standard_webhooks_signature(secret, message_id, timestamp, body)
    return headers


def backoff_delay(retry: int, factor: float) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2, ...): ``factor * 2 ** (retry - 1)``, capped."""
    return min(BACKOFF_MAX, factor * 2 ** (retry - 1))


def _retry_after(response: http.client.HTTPResponse) -> float | None:
    """A 429/503's ``Retry-After`` in seconds (delta or HTTP date), or None."""
    value = (response.getheader("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def post(target: Target, event: str, body: bytes, *, secret: str, message_id: str, timeout: float,
         retries: int, backoff_factor: float,
         sleep: Callable[[float], None] = time.sleep) -> tuple[int | None, str, int]:
    """POST ``body`` to ``target`` with retries; return ``(last status or None, error, attempts)``.

    ``error`` is empty on success (a 2xx status).
    """
    status: int | None = None
    error = ""
    attempt = 0
    while True:
        attempt += 1
        retryable, wait = False, 0.0
        headers = request_headers(event, body, secret, message_id, int(time.time()))
        if target.authorization:
            headers["Authorization"] = target.authorization
        connection = open_connection(target, timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()  # the status is what counts; the body is never read
            status = response.status
            if 200 <= status < 300:
                return status, "", attempt
            error = f"HTTP {status} {response.reason}".strip()
            if 300 <= status < 400:  # never followed: the target may be anywhere, past the guard
                error += " (redirects are not followed)"
            retryable = status in RETRY_STATUSES
            if status in RETRY_AFTER_STATUSES:
                wait = _retry_after(response) or 0.0
        except ssl.SSLCertVerificationError as exc:  # a certificate problem does not go away by retrying
            status, error = None, f"TLS certificate of {target.origin} not accepted: {exc.verify_message or exc}"
        except TimeoutError:
            status, error, retryable = None, f"timed out after {timeout:g}s ({target.origin})", True
        except OSError as exc:
            status, error, retryable = None, f"connection to {target.origin} failed: {exc}", True
        except http.client.HTTPException as exc:  # RemoteDisconnected, BadStatusLine, ...
            status, error, retryable = None, f"bad response from {target.origin}: {type(exc).__name__}: {exc}", True
        finally:
            connection.close()
        if not retryable or attempt > retries:
            return status, error, attempt
        delay = min(BACKOFF_MAX, max(backoff_delay(attempt, backoff_factor), wait))
        log.info("webhook to %s: %s; retry %d of %d in %.2f s", target.origin, error, attempt, retries, delay)
        sleep(delay)


# -- one delivery, logged ----------------------------------------------------------------------------

def deliver_webhook(kernel: Kernel, webhook: Mapping[str, Any], event: str, payload: Mapping[str, Any], *,
                    message_id: str | None = None, timestamp: str | None = None) -> WebhookResult:
    """Deliver ``event`` to one webhook now (in this thread): guard, POST with retries, log, record,
    emit ``hook_executed``. ``message_id`` and ``timestamp`` (the event time) default to new ones."""
    started = time.monotonic()
    message_id = message_id or new_message_id()
    secret = webhook.get("secret") or ""
    registry.add([secret])  # whatever logs an exception later, the secret is scrubbed from it
    timeout = webhook.get("timeout_seconds") or DEFAULT_TIMEOUT
    retries = webhook.get("retry_count")
    retries = DEFAULT_RETRIES if retries is None else retries
    body = envelope(event, payload, timestamp or utc_timestamp())
    try:
        target = check_url(webhook.get("url") or "", kernel.settings.webhook_allowed_hosts)
    except DeliveryRefused as exc:  # refusals are final: never retried
        status, error, attempts = None, str(exc), 0
    else:
        status, error, attempts = post(
            target, event, body, secret=secret, message_id=message_id, timeout=timeout, retries=retries,
            backoff_factor=kernel.settings.get("webhook_backoff_factor", DEFAULT_BACKOFF_FACTOR))
    result = WebhookResult(webhook_id=webhook["id"], event_name=event, success=not error, status_code=status,
                           error=error, attempts=attempts, message_id=message_id,
                           duration_ms=round((time.monotonic() - started) * 1000, 1))
    if error:
        log.warning("webhook %s (%s) on %s failed after %d attempt(s): %s", result.webhook_id,
                    webhook.get("name", ""), event, attempts, error)
    repo = kernel.repo("hooks", HookRepository)
    repo.create_hook_log(webhook_id=result.webhook_id, event_name=event, hook_type="webhook", success=result.success,
                         status_code=result.status_code, error=result.error, duration_ms=result.duration_ms)
    repo.record_webhook_triggered(result.webhook_id, result.success, status_code=result.status_code or 0,
                                  error=result.error)
    kernel.emit("hook_executed", {"hook_id": None, "webhook_id": result.webhook_id, "event_name": event,
                                  "success": result.success, "exit_code": None, "status_code": result.status_code})
    return result
