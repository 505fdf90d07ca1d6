"""Script hooks, outgoing webhooks and their execution log (legacy ``db/hooks.py`` + ``HookRepository``).

Only the stored configuration and the log live here; running scripts and delivering webhooks
is the events runtime's job.

Legacy quirks kept on purpose:
- ``create_hook_config``/``create_webhook_config`` return the whole new row (the legacy literal
  dicts had exactly the table's columns in table order, ``enabled`` as int 1).
- ``get_hook_configs``/``get_webhook_configs`` order by id and include disabled rows; an empty
  ``event_name`` means "all events" (the legacy code tested truthiness).
- ``get_hook_logs(hook_id=None, webhook_id=None, limit=50, offset=0)`` keeps the legacy positional
  order (the old repository swapped it), filters by ``hook_id`` first, else by ``webhook_id``, and
  returns ``success`` as the stored int 0/1 like the legacy raw rows; ``log_hook_execution``
  returns it as a bool, as the legacy function did.
- Secrets are stored in plaintext and returned to code; :func:`mask_webhook` is the display form.

Fixes:
- ``update_*`` accept only the editable fields; any other name raises ValueError naming it, and
  nothing is written (the legacy layer built ``SET`` clauses from keyword names).
- ``update_webhook(..., enabled=True)`` re-arms a webhook that reached the failure limit: it
  resets ``consecutive_failures`` (before, only a successful delivery could, which never came
  because the dispatcher skipped the webhook).
- ``delete_hook``/``delete_webhook`` (and their legacy names) delete the row's log entries in
  the same transaction instead of leaving orphans.
- Trigger counters are incremented in SQL, so concurrent deliveries lose no update.
- Values are validated before anything is written (ValueError, never a database error).
- A webhook URL goes through the delivery's SSRF guard when it is saved (create and URL update):
  a cloud metadata or non-allow-listed internal target is refused there with the delivery's message.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from sublarr.core.domain import Repository, check_limit
from sublarr.core.secrets import MASK, mask_url
from sublarr.core.timeutil import now_iso
from sublarr.core.validation import (
    MAX_INDEXED_BYTES,
    Check,
    clean_fields,
    require_amount,
    require_flag,
    require_int,
    require_str,
    time_ago,
)

from .models import hook_configs as hooks
from .models import hook_log as logs
from .models import webhook_configs as webhooks
from .ssrf import HostUnresolved, check_url

# The legacy dispatcher skips a webhook after this many consecutive failed deliveries
# (``_AUTO_DISABLE_THRESHOLD``) without touching ``enabled``; update_webhook(enabled=True) re-arms it.
WEBHOOK_FAILURE_LIMIT = 10


# -- validation ----------------------------------------------------------------------------------

def _http_url(name: str, value: Any) -> str:
    """Only the scheme and a host are checked here; SSRF rules belong to the delivery runtime."""
    require_str(name, value, allow_empty=False)
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not a valid URL: {exc}") from None
    if not value.lower().startswith(("http://", "https://")) or not parts.netloc:
        raise ValueError(f"{name} must start with http:// or https:// and name a host")
    return value


def _guard_url(url: str, allowed_hosts: Any) -> None:
    """The delivery's SSRF check, run when a URL is saved: the same refusal with the same message
    (:class:`~.ssrf.DeliveryRefused`, a ValueError). A host that does not resolve right now is
    accepted; the delivery resolves and checks it again."""
    try:
        check_url(url, allowed_hosts or ())
    except HostUnresolved:
        pass


_optional_int = functools.partial(require_int, nullable=True)
_non_negative = functools.partial(require_int, minimum=0)
_indexed_str = functools.partial(require_str, max_bytes=MAX_INDEXED_BYTES)  # event_name is indexed

# The editable fields of each table and how their values are checked (the legacy routes'
# whitelists); creation goes through the same checks.
_HOOK_FIELDS: dict[str, Check] = {
    "name": require_str, "event_name": _indexed_str, "script_path": require_str,
    "timeout_seconds": _non_negative, "enabled": require_flag,
}
_WEBHOOK_FIELDS: dict[str, Check] = {
    "name": require_str, "event_name": _indexed_str, "url": _http_url, "secret": require_str,
    "retry_count": _non_negative, "timeout_seconds": _non_negative, "enabled": require_flag,
}
_LOG_FIELDS: dict[str, Check] = {
    "hook_id": _optional_int, "webhook_id": _optional_int, "event_name": require_str,
    "hook_type": require_str, "success": require_flag, "exit_code": _optional_int, "status_code": _optional_int,
    "stdout": require_str, "stderr": require_str, "error": require_str, "duration_ms": require_amount,
}


def mask_webhook(webhook: Mapping[str, Any]) -> dict[str, Any]:
    """A display copy of a webhook dict: the secret as ``***`` (empty stays empty, so "no secret"
    remains visible) and any password in the URL masked. The stored row is not changed."""
    shown = dict(webhook)
    if shown.get("secret"):
        shown["secret"] = MASK
    if isinstance(shown.get("url"), str):
        shown["url"] = mask_url(shown["url"])
    return shown


# -- statements shared by hooks and webhooks -------------------------------------------------------

def _insert_row(conn: Connection, table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    return dict(conn.execute(insert(table).values(**values).returning(*table.c)).mappings().one())


def _update_row(conn: Connection, table: Table, row_id: int, values: Mapping[str, Any]) -> bool:
    """UPDATE with ``updated_at``; with no values nothing is written (legacy no-op) and the
    result says whether the row exists."""
    if not values:
        return conn.execute(select(table.c.id).where(table.c.id == row_id)).first() is not None
    stmt = update(table).where(table.c.id == row_id).values(**values, updated_at=now_iso())
    return conn.execute(stmt).rowcount > 0


def _configs_query(table: Table, event_name: str | None, enabled_only: bool):
    query = select(table).order_by(table.c.id)
    if event_name is not None:
        require_str("event_name", event_name)
    if event_name:  # legacy truthiness: '' means every event
        query = query.where(table.c.event_name == event_name)
    if require_flag("enabled_only", enabled_only):
        query = query.where(table.c.enabled == 1)
    return query


def _log_filter(query, hook_id: int | None, webhook_id: int | None):
    """Legacy precedence: ``hook_id`` when given, else ``webhook_id``, else every entry."""
    if hook_id is not None:
        return query.where(logs.c.hook_id == require_int("hook_id", hook_id))
    if webhook_id is not None:
        return query.where(logs.c.webhook_id == require_int("webhook_id", webhook_id))
    return query


def _bump(column):
    # COALESCE: legacy rows may hold NULL counters (the columns are nullable), and NULL + 1 is NULL.
    return func.coalesce(column, 0) + 1


class HookRepository(Repository):
    domain = "hooks"

    # -- script hooks ------------------------------------------------------------------------------

    def create_hook(self, name: str, event_name: str, script_path: str, timeout_seconds: int = 30,
                    enabled: bool = True) -> dict:
        """Insert a script hook; returns the new row (legacy name ``create_hook_config``)."""
        values = clean_fields("hook", _HOOK_FIELDS, {"name": name, "event_name": event_name, "script_path": script_path,
                                              "timeout_seconds": timeout_seconds, "enabled": enabled})
        now = now_iso()
        with self.write() as conn:
            return _insert_row(conn, hooks, {**values, "hook_type": "script", "created_at": now, "updated_at": now})

    create_hook_config = create_hook

    def get_hooks(self, event_name: str | None = None, enabled_only: bool = False) -> list[dict]:
        """Hooks ordered by id, optionally of one event and/or enabled only (legacy ``get_hook_configs``)."""
        query = _configs_query(hooks, event_name, enabled_only)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    get_hook_configs = get_hooks

    def get_hook(self, hook_id: int) -> dict | None:
        """One hook or None (legacy ``get_hook_config``)."""
        require_int("hook_id", hook_id)
        with self.read() as conn:
            row = conn.execute(select(hooks).where(hooks.c.id == hook_id)).mappings().first()
        return dict(row) if row is not None else None

    get_hook_config = get_hook

    def update_hook(self, hook_id: int, **fields: Any) -> bool:
        """Change editable fields (name, event_name, script_path, timeout_seconds, enabled) and
        ``updated_at``; False when the hook does not exist. No fields: nothing is written."""
        require_int("hook_id", hook_id)
        values = clean_fields("hook", _HOOK_FIELDS, fields)
        with self.write() as conn:
            return _update_row(conn, hooks, hook_id, values)

    def update_hook_config(self, hook_id: int, **fields: Any) -> None:
        """Legacy form of :meth:`update_hook`: returns None."""
        self.update_hook(hook_id, **fields)

    def delete_hook(self, hook_id: int) -> bool:
        """Delete a hook and its log entries in one transaction; False when it did not exist."""
        require_int("hook_id", hook_id)
        with self.write() as conn:
            conn.execute(delete(logs).where(logs.c.hook_id == hook_id))
            return conn.execute(delete(hooks).where(hooks.c.id == hook_id)).rowcount > 0

    def delete_hook_config(self, hook_id: int) -> None:
        """Legacy form of :meth:`delete_hook`: returns None (and, fixed, removes the hook's logs too)."""
        self.delete_hook(hook_id)

    def record_hook_triggered(self, hook_id: int, success: bool) -> None:
        """After a run: ``trigger_count + 1`` (in SQL), ``last_triggered_at``, ``last_status``
        "success"/"failed", ``updated_at``. A missing hook is a no-op (legacy
        ``update_hook_trigger_stats``)."""
        require_int("hook_id", hook_id)
        status = "success" if require_flag("success", success) else "failed"
        now = now_iso()
        with self.write() as conn:
            conn.execute(update(hooks).where(hooks.c.id == hook_id).values(
                trigger_count=_bump(hooks.c.trigger_count), last_triggered_at=now, last_status=status,
                updated_at=now))

    update_hook_trigger_stats = record_hook_triggered

    # -- webhooks ----------------------------------------------------------------------------------

    def create_webhook(self, name: str, event_name: str, url: str, secret: str = "", retry_count: int = 3,
                       timeout_seconds: int = 10, enabled: bool = True) -> dict:
        """Insert a webhook; returns the new row, secret included (legacy ``create_webhook_config``)."""
        values = clean_fields("webhook", _WEBHOOK_FIELDS, {
            "name": name, "event_name": event_name, "url": url, "secret": secret, "retry_count": retry_count,
            "timeout_seconds": timeout_seconds, "enabled": enabled})
        _guard_url(values["url"], self.settings.get("webhook_allowed_hosts"))
        now = now_iso()
        with self.write() as conn:
            return _insert_row(conn, webhooks, {**values, "created_at": now, "updated_at": now})

    create_webhook_config = create_webhook

    def get_webhooks(self, event_name: str | None = None, enabled_only: bool = False) -> list[dict]:
        """Webhooks ordered by id, optionally of one event (exact match; the dispatcher asks for
        ``"*"`` separately) and/or enabled only (legacy ``get_webhook_configs``)."""
        query = _configs_query(webhooks, event_name, enabled_only)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    get_webhook_configs = get_webhooks

    def get_webhook(self, webhook_id: int) -> dict | None:
        """One webhook or None (legacy ``get_webhook_config``)."""
        require_int("webhook_id", webhook_id)
        with self.read() as conn:
            row = conn.execute(select(webhooks).where(webhooks.c.id == webhook_id)).mappings().first()
        return dict(row) if row is not None else None

    get_webhook_config = get_webhook

    def update_webhook(self, webhook_id: int, **fields: Any) -> bool:
        """Change editable fields (name, event_name, url, secret, retry_count, timeout_seconds,
        enabled); False when missing. ``enabled=True`` also resets ``consecutive_failures``, which
        re-arms a webhook the dispatcher skipped after :data:`WEBHOOK_FAILURE_LIMIT` failures."""
        require_int("webhook_id", webhook_id)
        values = clean_fields("webhook", _WEBHOOK_FIELDS, fields)
        if "url" in values:
            _guard_url(values["url"], self.settings.get("webhook_allowed_hosts"))
        if values.get("enabled") == 1:
            values["consecutive_failures"] = 0
        with self.write() as conn:
            return _update_row(conn, webhooks, webhook_id, values)

    def update_webhook_config(self, webhook_id: int, **fields: Any) -> None:
        """Legacy form of :meth:`update_webhook`: returns None."""
        self.update_webhook(webhook_id, **fields)

    def delete_webhook(self, webhook_id: int) -> bool:
        """Delete a webhook and its log entries in one transaction; False when it did not exist."""
        require_int("webhook_id", webhook_id)
        with self.write() as conn:
            conn.execute(delete(logs).where(logs.c.webhook_id == webhook_id))
            return conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount > 0

    def delete_webhook_config(self, webhook_id: int) -> None:
        """Legacy form of :meth:`delete_webhook`: returns None (and, fixed, removes its logs too)."""
        self.delete_webhook(webhook_id)

    def record_webhook_triggered(self, webhook_id: int, success: bool, status_code: int = 0,
                                 error: str = "") -> None:
        """After a delivery: ``trigger_count + 1``; success resets ``consecutive_failures`` and
        ``last_error``, failure adds 1 and stores ``error``. Increments run in SQL, so concurrent
        deliveries lose no update. A missing webhook is a no-op (legacy ``update_webhook_trigger_stats``)."""
        require_int("webhook_id", webhook_id)
        ok = require_flag("success", success)
        require_int("status_code", status_code)
        require_str("error", error)
        now = now_iso()
        with self.write() as conn:
            conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(
                trigger_count=_bump(webhooks.c.trigger_count), last_triggered_at=now, last_status_code=status_code,
                last_error="" if ok else error,
                consecutive_failures=0 if ok else _bump(webhooks.c.consecutive_failures),
                updated_at=now))

    update_webhook_trigger_stats = record_webhook_triggered

    # -- execution log -----------------------------------------------------------------------------

    def log_hook_execution(self, hook_id: int | None = None, webhook_id: int | None = None, event_name: str = "",
                           hook_type: str = "", success: bool = False, exit_code: int | None = None,
                           status_code: int | None = None, stdout: str = "", stderr: str = "", error: str = "",
                           duration_ms: float = 0) -> dict:
        """Append a log entry stamped now; returns the stored row with ``success`` as a bool, as the
        legacy function did (repository name ``create_hook_log``)."""
        values = clean_fields("hook log", _LOG_FIELDS, {
            "hook_id": hook_id, "webhook_id": webhook_id, "event_name": event_name, "hook_type": hook_type,
            "success": success, "exit_code": exit_code, "status_code": status_code, "stdout": stdout,
            "stderr": stderr, "error": error, "duration_ms": duration_ms})
        with self.write() as conn:
            row = _insert_row(conn, logs, {**values, "triggered_at": now_iso()})
        row["success"] = bool(row["success"])
        return row

    create_hook_log = log_hook_execution

    def get_hook_logs(self, hook_id: int | None = None, webhook_id: int | None = None, limit: int = 50,
                      offset: int = 0) -> list[dict]:
        """Log entries newest first (``triggered_at DESC``, then id), filtered by ``hook_id`` else
        ``webhook_id``; raw rows with ``success`` as int 0/1, as the legacy function returned them."""
        check_limit(limit)
        check_limit(offset, "offset")
        query = _log_filter(select(logs), hook_id, webhook_id)
        query = query.order_by(logs.c.triggered_at.desc(), logs.c.id.desc()).limit(limit).offset(offset)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def get_hook_log_count(self, hook_id: int | None = None, webhook_id: int | None = None) -> int:
        """Number of log entries, with the filter of :meth:`get_hook_logs`."""
        query = _log_filter(select(func.count()).select_from(logs), hook_id, webhook_id)
        with self.read() as conn:
            return conn.execute(query).scalar_one()

    def clear_hook_logs(self) -> int:
        """Delete every log entry; returns how many."""
        with self.write() as conn:
            return conn.execute(delete(logs)).rowcount

    def clear_old_hook_logs(self, days: int) -> int:
        """Delete entries triggered more than ``days`` days ago; returns how many. The cutoff is
        computed in Python and compared as a string (kernel timestamps sort as text)."""
        cutoff = time_ago("days", require_int("days", days, minimum=0))  # '' before the year 1: none older
        with self.write() as conn:
            return conn.execute(delete(logs).where(logs.c.triggered_at < cutoff)).rowcount
