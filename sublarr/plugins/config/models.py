from sqlalchemy import Column, Table, Text

from sublarr.core.models import metadata

config_entries = Table(
    "config_entries",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
)
