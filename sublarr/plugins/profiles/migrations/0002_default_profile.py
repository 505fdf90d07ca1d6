"""profiles: a fresh database gets the "Default" language profile.

The legacy ``_run_migrations`` seeded it from the language settings whenever the table was
empty; its successor (``create_all``) forgot to, so fresh installs ran on the synthetic
``id 0`` profile. The row is built from ``source_language``, ``source_language_name``,
``target_language`` and ``target_language_name`` of the booting kernel's settings (the legacy
defaults en/English/de/German when the migration runs without a kernel), and only inserted
into an empty table, so an adopted legacy database keeps its own profiles.

Revision ID: profiles_0002
Revises: profiles_0001
"""
import json

import sqlalchemy as sa
from alembic import op

from sublarr.core.timeutil import now_iso

revision = "profiles_0002"
down_revision = "profiles_0001"
branch_labels = None
depends_on = None

LEGACY_DEFAULTS = {
    "source_language": "en",
    "source_language_name": "English",
    "target_language": "de",
    "target_language_name": "German",
}

profiles = sa.table(
    "language_profiles",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.Text()),
    sa.column("source_language", sa.Text()),
    sa.column("source_language_name", sa.Text()),
    sa.column("target_languages_json", sa.Text()),
    sa.column("target_language_names_json", sa.Text()),
    sa.column("is_default", sa.Integer()),
    sa.column("created_at", sa.Text()),
    sa.column("updated_at", sa.Text()),
)


def _language_settings() -> dict[str, str]:
    config = op.get_context().config
    settings = config.attributes.get("settings") if config is not None else None
    if settings is None:
        return dict(LEGACY_DEFAULTS)
    return {name: str(settings[name]) for name in LEGACY_DEFAULTS}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.execute(sa.select(sa.func.count()).select_from(profiles)).scalar_one():
        return
    lang = _language_settings()
    now = now_iso()
    # The columns the legacy seed left out (translation_backend, fallback_chain_json,
    # forced_preference) take their DDL defaults, as they did in the legacy database.
    bind.execute(profiles.insert().values(
        name="Default",
        source_language=lang["source_language"],
        source_language_name=lang["source_language_name"],
        target_languages_json=json.dumps([lang["target_language"]]),
        target_language_names_json=json.dumps([lang["target_language_name"]]),
        is_default=1,
        created_at=now,
        updated_at=now,
    ))


def downgrade() -> None:
    # The baseline schema accepts the row, and by now it may be the user's edited default with
    # series assigned to it (deleting it would cascade to those assignments): it stays.
    pass
