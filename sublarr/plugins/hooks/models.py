"""The legacy ``hook_configs``, ``webhook_configs`` and ``hook_log`` tables, columns in physical order.

``hook_log.hook_id`` / ``webhook_id`` carry no foreign key, as in the legacy schema: a log row
may name a hook that never existed (the test endpoints log too), and legacy databases hold
orphan rows that a constraint would reject. Deleting a hook deletes its logs in the repository.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, Text, null
from sqlalchemy.orm import Mapped, mapped_column

from sublarr.core.models import Base
from sublarr.core.schema import Real, int_default, legacy_now, text_default


class HookConfig(Base):
    __tablename__ = "hook_configs"
    __table_args__ = (Index("idx_hook_configs_event", "event_name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    event_name: Mapped[str] = mapped_column(Text, nullable=False)
    hook_type: Mapped[str | None] = mapped_column(Text, server_default=text_default("script"))
    enabled: Mapped[int | None] = mapped_column(Integer, server_default=int_default(1))
    script_path: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, server_default=int_default(30))
    last_triggered_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    last_status: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    trigger_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class WebhookConfig(Base):
    __tablename__ = "webhook_configs"
    __table_args__ = (Index("idx_webhook_configs_event", "event_name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text, nullable=False)
    event_name: Mapped[str] = mapped_column(Text, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    secret: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))  # plaintext, as legacy
    enabled: Mapped[int | None] = mapped_column(Integer, server_default=int_default(1))
    retry_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(3))
    timeout_seconds: Mapped[int | None] = mapped_column(Integer, server_default=int_default(10))
    last_triggered_at: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    last_status_code: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    last_error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    consecutive_failures: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    trigger_count: Mapped[int | None] = mapped_column(Integer, server_default=int_default(0))
    created_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
    updated_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())


class HookLog(Base):
    __tablename__ = "hook_log"
    __table_args__ = (
        Index("idx_hook_log_hook_id", "hook_id"),
        Index("idx_hook_log_webhook_id", "webhook_id"),
        Index("idx_hook_log_triggered_at", "triggered_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hook_id: Mapped[int | None] = mapped_column(Integer)
    webhook_id: Mapped[int | None] = mapped_column(Integer)
    event_name: Mapped[str] = mapped_column(Text, nullable=False)
    hook_type: Mapped[str] = mapped_column(Text, nullable=False)
    success: Mapped[int] = mapped_column(Integer, nullable=False)
    exit_code: Mapped[int | None] = mapped_column(Integer, server_default=null())
    status_code: Mapped[int | None] = mapped_column(Integer, server_default=null())
    stdout: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    stderr: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    error: Mapped[str | None] = mapped_column(Text, server_default=text_default(""))
    duration_ms: Mapped[float | None] = mapped_column(Real, server_default=int_default(0))
    triggered_at: Mapped[str] = mapped_column(Text, nullable=False, server_default=legacy_now())
