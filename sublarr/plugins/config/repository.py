from __future__ import annotations

from sqlalchemy import delete, select

from sublarr.core.domain import Repository, require_str, starts_with
from sublarr.core.timeutil import now_iso

from .models import config_entries as entries

# Keys are the primary key: PostgreSQL cannot index a text value over ~2.7 kB, so keys are
# capped (512 characters, at most 2 kB in UTF-8) on every dialect alike.
MAX_KEY_LENGTH = 512


def _key(key: object) -> str:
    checked = require_str("key", key, allow_empty=False)  # the same string, typed as one
    if len(checked) > MAX_KEY_LENGTH:
        raise ValueError(f"key must be at most {MAX_KEY_LENGTH} characters, got {len(checked)}")
    return checked


class ConfigRepository(Repository):
    domain = "config"
    MAX_KEY_LENGTH = MAX_KEY_LENGTH  # for domains that build keys (plugin_config)

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

    def get_config_entries_by_prefix(self, prefix: str) -> dict[str, str]:
        """``{key: value}`` of the entries whose key starts with ``prefix`` (literal, case-sensitive),
        in key order by code point (sorted here: PostgreSQL's ORDER BY would follow the database locale)."""
        require_str("prefix", prefix)
        with self.read() as conn:
            rows = conn.execute(select(entries.c.key, entries.c.value).where(starts_with(entries.c.key, prefix)))
            return dict(sorted(rows.all()))

    def delete_config_entries_by_prefix(self, prefix: str) -> int:
        """Delete the entries whose key starts with ``prefix`` (literal, case-sensitive); returns how many."""
        require_str("prefix", prefix, allow_empty=False)  # "" would be every entry
        with self.write() as conn:
            return conn.execute(delete(entries).where(starts_with(entries.c.key, prefix))).rowcount
