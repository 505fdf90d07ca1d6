"""hooks baseline: the legacy ``hook_configs``, ``webhook_configs`` and ``hook_log`` tables.

Reproduces the legacy DDL exactly (columns, types, defaults, the ``idx_*`` indexes, AUTOINCREMENT),
so a legacy database can be stamped at this revision.

Revision ID: hooks_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.schema import Real, int_default, now_default, text_default

revision = "hooks_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_configs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("event_name", sa.Text(), nullable=False),
        sa.Column("hook_type", sa.Text(), server_default=text_default("script")),
        sa.Column("enabled", sa.Integer(), server_default=int_default(1)),
        sa.Column("script_path", sa.Text(), server_default=text_default("")),
        sa.Column("timeout_seconds", sa.Integer(), server_default=int_default(30)),
        sa.Column("last_triggered_at", sa.Text(), server_default=text_default("")),
        sa.Column("last_status", sa.Text(), server_default=text_default("")),
        sa.Column("trigger_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_hook_configs_event", "hook_configs", ["event_name"])

    op.create_table(
        "webhook_configs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("event_name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), server_default=text_default("")),
        sa.Column("enabled", sa.Integer(), server_default=int_default(1)),
        sa.Column("retry_count", sa.Integer(), server_default=int_default(3)),
        sa.Column("timeout_seconds", sa.Integer(), server_default=int_default(10)),
        sa.Column("last_triggered_at", sa.Text(), server_default=text_default("")),
        sa.Column("last_status_code", sa.Integer(), server_default=int_default(0)),
        sa.Column("last_error", sa.Text(), server_default=text_default("")),
        sa.Column("consecutive_failures", sa.Integer(), server_default=int_default(0)),
        sa.Column("trigger_count", sa.Integer(), server_default=int_default(0)),
        sa.Column("created_at", sa.Text(), nullable=False, server_default=now_default()),
        sa.Column("updated_at", sa.Text(), nullable=False, server_default=now_default()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_webhook_configs_event", "webhook_configs", ["event_name"])

    op.create_table(
        "hook_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("hook_id", sa.Integer()),
        sa.Column("webhook_id", sa.Integer()),
        sa.Column("event_name", sa.Text(), nullable=False),
        sa.Column("hook_type", sa.Text(), nullable=False),
        sa.Column("success", sa.Integer(), nullable=False),
        sa.Column("exit_code", sa.Integer(), server_default=sa.null()),
        sa.Column("status_code", sa.Integer(), server_default=sa.null()),
        sa.Column("stdout", sa.Text(), server_default=text_default("")),
        sa.Column("stderr", sa.Text(), server_default=text_default("")),
        sa.Column("error", sa.Text(), server_default=text_default("")),
        sa.Column("duration_ms", Real, server_default=int_default(0)),
        sa.Column("triggered_at", sa.Text(), nullable=False, server_default=now_default()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_hook_log_hook_id", "hook_log", ["hook_id"])
    op.create_index("idx_hook_log_webhook_id", "hook_log", ["webhook_id"])
    op.create_index("idx_hook_log_triggered_at", "hook_log", ["triggered_at"])


def downgrade() -> None:
    op.drop_table("hook_log")
    op.drop_table("webhook_configs")
    op.drop_table("hook_configs")
