"""The legacy ``hook_configs``, ``webhook_configs`` and ``hook_log`` tables, columns in physical order.

``hook_log.hook_id`` / ``webhook_id`` carry no foreign key, as in the legacy schema: a log row
may name a hook that never existed (the test endpoints log too), and legacy databases hold
orphan rows that a constraint would reject. Deleting a hook deletes its logs in the repository.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, Table, Text, null

from sublarr.core.models import metadata
from sublarr.core.schema import Real, int_default, legacy_now, text_default

hook_configs = Table(
    "hook_configs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("event_name", Text, nullable=False),
    Column("hook_type", Text, server_default=text_default("script")),
    Column("enabled", Integer, server_default=int_default(1)),
    Column("script_path", Text, server_default=text_default("")),
    Column("timeout_seconds", Integer, server_default=int_default(30)),
    Column("last_triggered_at", Text, server_default=text_default("")),
    Column("last_status", Text, server_default=text_default("")),
    Column("trigger_count", Integer, server_default=int_default(0)),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_hook_configs_event", "event_name"),
    sqlite_autoincrement=True,
)


webhook_configs = Table(
    "webhook_configs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("event_name", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("secret", Text, server_default=text_default("")),  # plaintext, as legacy
    Column("enabled", Integer, server_default=int_default(1)),
    Column("retry_count", Integer, server_default=int_default(3)),
    Column("timeout_seconds", Integer, server_default=int_default(10)),
    Column("last_triggered_at", Text, server_default=text_default("")),
    Column("last_status_code", Integer, server_default=int_default(0)),
    Column("last_error", Text, server_default=text_default("")),
    Column("consecutive_failures", Integer, server_default=int_default(0)),
    Column("trigger_count", Integer, server_default=int_default(0)),
    Column("created_at", Text, nullable=False, server_default=legacy_now()),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_webhook_configs_event", "event_name"),
    sqlite_autoincrement=True,
)


hook_log = Table(
    "hook_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hook_id", Integer),
    Column("webhook_id", Integer),
    Column("event_name", Text, nullable=False),
    Column("hook_type", Text, nullable=False),
    Column("success", Integer, nullable=False),
    Column("exit_code", Integer, server_default=null()),
    Column("status_code", Integer, server_default=null()),
    Column("stdout", Text, server_default=text_default("")),
    Column("stderr", Text, server_default=text_default("")),
    Column("error", Text, server_default=text_default("")),
    Column("duration_ms", Real, server_default=int_default(0)),
    Column("triggered_at", Text, nullable=False, server_default=legacy_now()),
    Index("idx_hook_log_hook_id", "hook_id"),
    Index("idx_hook_log_webhook_id", "webhook_id"),
    Index("idx_hook_log_triggered_at", "triggered_at"),
    sqlite_autoincrement=True,
)
