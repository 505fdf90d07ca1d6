from __future__ import annotations

from sqlalchemy import delete, select

from sublarr.core.domain import Repository, require_str, starts_with
from sublarr.plugins.config.models import ConfigEntry
from sublarr.plugins.config.repository import MAX_KEY_LENGTH

entries = ConfigEntry.__table__

_PLUGIN_PREFIX = "plugin."


class PluginConfigRepository(Repository):
    """``plugin.<provider_name>.<key>`` entries of ``config_entries``, values stored as strings.

    Fix: the legacy layer matched ``LIKE 'plugin.<provider>.%'`` unescaped, so ``_`` and ``%`` in a
    provider name were wildcards and SQLite's LIKE ignored case: provider ``a_b`` read and
    deleted the keys of ``aXb`` and ``A_B``. Here the prefix match is literal and case-sensitive.

    Provider names must be non-empty and must not contain ``.``: :meth:`get_all_plugin_configs`
    splits a key at its first ``.`` after the prefix (legacy parsing, kept), so provider ``a.b``
    would show up as provider ``a`` there, and ``get/delete_plugin_config("a")`` would reach its
    keys. Config keys may contain dots (they are everything after the provider name).
    """

    domain = "plugin_config"

    def get_plugin_config(self, provider_name: str) -> dict[str, str]:
        """``{key: value}`` of one provider (``{}`` if none), ordered by key.

        Sorting happens in Python (code-point order) so both dialects give the same order;
        PostgreSQL's ORDER BY would follow the database locale.
        """
        prefix = _prefix(provider_name)
        with self.read() as conn:
            rows = conn.execute(select(entries.c.key, entries.c.value)
                                .where(starts_with(entries.c.key, prefix))).all()
        return {key[len(prefix):]: value for key, value in sorted(rows)}

    def set_plugin_config(self, provider_name: str, key: str, value: str) -> None:
        """Insert or replace one setting (through the config domain's upsert)."""
        full_key = _prefix(provider_name) + require_str("key", key, allow_empty=False)
        if len(full_key) > MAX_KEY_LENGTH:  # the config key is a primary key: capped on every dialect
            raise ValueError(f"provider_name and key must be at most {MAX_KEY_LENGTH} characters together "
                             f"(as 'plugin.<provider_name>.<key>'), got {len(full_key)}")
        self.repo("config").save_config_entry(full_key, value)

    def get_all_plugin_configs(self) -> dict[str, dict[str, str]]:
        """``{provider_name: {key: value}}`` of every ``plugin.*`` entry.

        As legacy, the rest of the key is split at its first ``.``; entries without a second
        ``.`` are skipped. Ordered by full key, like :meth:`get_plugin_config`.
        """
        with self.read() as conn:
            rows = conn.execute(select(entries.c.key, entries.c.value)
                                .where(starts_with(entries.c.key, _PLUGIN_PREFIX))).all()
        configs: dict[str, dict[str, str]] = {}
        for full_key, value in sorted(rows):
            provider, dot, key = full_key[len(_PLUGIN_PREFIX):].partition(".")
            if dot:
                configs.setdefault(provider, {})[key] = value
        return configs

    def delete_plugin_config(self, provider_name: str) -> int:
        """Delete every setting of one provider; returns how many were deleted."""
        prefix = _prefix(provider_name)
        with self.write() as conn:
            return conn.execute(delete(entries).where(starts_with(entries.c.key, prefix))).rowcount


def _prefix(provider_name: str) -> str:
    require_str("provider_name", provider_name, allow_empty=False)
    if "." in provider_name:
        raise ValueError(f"provider_name must not contain '.', got {provider_name!r}")
    return f"{_PLUGIN_PREFIX}{provider_name}."
