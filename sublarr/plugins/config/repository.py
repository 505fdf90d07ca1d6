from __future__ import annotations

from sqlalchemy import select

from sublarr.core.domain import Repository, require_str
from sublarr.core.timeutil import now_iso

from .models import ConfigEntry

entries = ConfigEntry.__table__

# Keys are the primary key: PostgreSQL cannot index a text value over ~2.7 kB, so keys are
# capped (512 characters, at most 2 kB in UTF-8) on every dialect alike.
MAX_KEY_LENGTH = 512


def _key(key: object) -> str:
    require_str("key", key, allow_empty=False)
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"key must be at most {MAX_KEY_LENGTH} characters, got {len(key)}")
    return key


class ConfigRepository(Repository):
    domain = "config"

    def save_config_entry(self, key: str, value: str) -> None:
        _key(key)
        require_str("value", value)
        with self.write() as conn:
            conn.execute(self.storage.upsert(entries, {"key": key, "value": value, "updated_at": now_iso()},
                                key=["key"]))

    def get_config_entry(self, key: str) -> str | None:
        _key(key)
        with self.read() as conn:
            return conn.execute(select(entries.c.value).where(entries.c.key == key)).scalar()

    def get_all_config_entries(self) -> dict[str, str]:
        with self.read() as conn:
            return dict(conn.execute(select(entries.c.key, entries.c.value)).all())
