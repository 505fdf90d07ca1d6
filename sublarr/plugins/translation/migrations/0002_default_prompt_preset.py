"""translation: seed the "Default" prompt preset.

The legacy layer meant to seed it, but its seeding branch only ran when ``prompt_presets`` was
missing, which never happened (SCHEMA had created it), so fresh databases had no default preset.
The row is inserted only when the table is empty: an adopted database keeps its own presets.
The template names the languages of the settings (``source_language_name`` /
``target_language_name``), as the legacy seed (``settings.get_prompt_template()``) did.

Revision ID: translation_0002
Revises: translation_0001
"""
import sqlalchemy as sa
from alembic import op

from sublarr.core.timeutil import now_iso

revision = "translation_0002"
down_revision = "translation_0001"
branch_labels = None
depends_on = None

NAME = "Default"
# Placeholders are filled with str.replace, so literal braces such as {\i1} in the text are safe.
TEMPLATE = (
    "You are a professional subtitle translator. Translate the following subtitle lines "
    "from {source_language} to {target_language}.\n"
    "Return ONLY the translated lines, one per line, in the same order and the same count as the input.\n"
    "Keep the meaning, tone and register of the dialogue; keep names and honorifics as they are.\n"
    "Preserve \\N exactly as \\N (hard line break) and keep override tags such as {\\i1} unchanged.\n"
    "Do NOT add numbering, prefixes, notes or explanations."
)

presets = sa.table(
    "prompt_presets",
    sa.column("id", sa.Integer()),
    sa.column("name", sa.Text()),
    sa.column("prompt_template", sa.Text()),
    sa.column("is_default", sa.Integer()),
    sa.column("created_at", sa.Text()),
    sa.column("updated_at", sa.Text()),
)


def _template() -> str:
    # The kernel hands its settings to the migration context; outside a kernel (plain alembic)
    # the legacy defaults apply.
    config = op.get_context().config
    settings = config.attributes.get("settings") if config is not None else None
    source = getattr(settings, "source_language_name", None) or "English"
    target = getattr(settings, "target_language_name", None) or "German"
    return TEMPLATE.replace("{source_language}", source).replace("{target_language}", target)


def _count(bind) -> int:
    return bind.execute(sa.select(sa.func.count()).select_from(presets)).scalar_one()


def upgrade() -> None:
    bind = op.get_bind()
    if _count(bind) == 0:
        now = now_iso()
        bind.execute(presets.insert().values(name=NAME, prompt_template=_template(), is_default=1,
                                             created_at=now, updated_at=now))


def downgrade() -> None:
    # Remove the seed only while it is the sole, untouched preset (the state this revision created);
    # a preset the user edited or added to is data, and the baseline schema accepts it.
    bind = op.get_bind()
    if _count(bind) == 1:
        bind.execute(presets.delete().where(
            presets.c.name == NAME,
            presets.c.prompt_template == _template(),
            presets.c.is_default == 1,
            presets.c.created_at == presets.c.updated_at,
        ))
