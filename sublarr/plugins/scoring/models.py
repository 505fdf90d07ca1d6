from sqlalchemy import Column, Integer, Table, Text, UniqueConstraint

from sublarr.core.models import metadata
from sublarr.core.schema import int_default, legacy_now

scoring_weights = Table(
    "scoring_weights",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("score_type", Text, nullable=False),
    Column("weight_key", Text, nullable=False),
    Column("weight_value", Integer, nullable=False),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
    UniqueConstraint("score_type", "weight_key"),
    sqlite_autoincrement=True,
)


provider_score_modifiers = Table(
    "provider_score_modifiers",
    metadata,
    Column("provider_name", Text, primary_key=True),
    Column("modifier", Integer, nullable=False, server_default=int_default(0)),
    Column("updated_at", Text, nullable=False, server_default=legacy_now()),
)
