from __future__ import annotations

from sqlalchemy import select

from sublarr.core.dialects import upsert
from sublarr.core.domain import Repository, require_str
from sublarr.core.timeutil import now_iso

from .models import ConfigEntry

entries = ConfigEntry.__table__


class ConfigRepository(Repository):
    domain = "config"

    def save_config_entry(self, key: str, value: str) -> None:
        require_str("key", key, allow_empty=False)
        require_str("value", value)
        with self.write() as conn:
            conn.execute(upsert(conn, entries, {"key": key, "value": value, "updated_at": now_iso()},
                                key=["key"]))

    def get_config_entry(self, key: str) -> str | None:
        with self.read() as conn:
            return conn.execute(select(entries.c.value).where(entries.c.key == key)).scalar()

    def get_all_config_entries(self) -> dict[str, str]:
        with self.read() as conn:
            return dict(conn.execute(select(entries.c.key, entries.c.value)).all())
