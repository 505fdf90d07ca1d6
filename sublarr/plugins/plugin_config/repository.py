from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sublarr.core.domain import Repository, require_str

if TYPE_CHECKING:  # type-only: the other domain is reached through kernel.repo(), never imported
    from sublarr.plugins.config.repository import ConfigRepository

_PLUGIN_PREFIX = "plugin."


class PluginConfigRepository(Repository):
    """``plugin.<provider_name>.<key>`` entries of the config domain (read and written through its
    repository), values stored as strings.

    Fix: the legacy layer matched ``LIKE 'plugin.<provider>.%'`` unescaped, so ``_`` and ``%`` in a
    provider name were wildcards and SQLite's LIKE ignored case: provider ``a_b`` read and
    deleted the keys of ``aXb`` and ``A_B``. Here the prefix match is literal and case-sensitive.

    Provider names must be non-empty and must not contain ``.``: :meth:`get_all_plugin_configs`
    splits a key at its first ``.`` after the prefix (legacy parsing, kept), so provider ``a.b``
    would show up as provider ``a`` there, and ``get/delete_plugin_config("a")`` would reach its
    keys. Config keys may contain dots (they are everything after the provider name).
    """

    def _config(self) -> ConfigRepository:
        """The config domain's repository (a declared requirement), typed for checkers."""
        return cast("ConfigRepository", self.repo("config"))

    domain = "plugin_config"

    def get_plugin_config(self, provider_name: str) -> dict[str, str]:
        """``{key: value}`` of one provider (``{}`` if none), ordered by key (code point order on
        every engine)."""
        prefix = _prefix(provider_name)
        entries = self._config().get_config_entries_by_prefix(prefix)
        return {key[len(prefix):]: value for key, value in entries.items()}

    def set_plugin_config(self, provider_name: str, key: str, value: str) -> None:
        """Insert or replace one setting (through the config domain's upsert)."""
        full_key = _prefix(provider_name) + require_str("key", key, allow_empty=False)
        config = self._config()
        if len(full_key) > config.MAX_KEY_LENGTH:  # the config key is a primary key: capped on every dialect
            raise ValueError(f"provider_name and key must be at most {config.MAX_KEY_LENGTH} characters together "
                             f"(as 'plugin.<provider_name>.<key>'), got {len(full_key)}")
        config.save_config_entry(full_key, value)

    def get_all_plugin_configs(self) -> dict[str, dict[str, str]]:
        """``{provider_name: {key: value}}`` of every ``plugin.*`` entry.

        As legacy, the rest of the key is split at its first ``.``; entries without a second
        ``.`` are skipped. Ordered by full key, like :meth:`get_plugin_config`.
        """
        configs: dict[str, dict[str, str]] = {}
        for full_key, value in self._config().get_config_entries_by_prefix(_PLUGIN_PREFIX).items():
            provider, dot, key = full_key[len(_PLUGIN_PREFIX):].partition(".")
            if dot:
                configs.setdefault(provider, {})[key] = value
        return configs

    def delete_plugin_config(self, provider_name: str) -> int:
        """Delete every setting of one provider; returns how many were deleted."""
        return self._config().delete_config_entries_by_prefix(_prefix(provider_name))


def _prefix(provider_name: str) -> str:
    require_str("provider_name", provider_name, allow_empty=False)
    if "." in provider_name:
        raise ValueError(f"provider_name must not contain '.', got {provider_name!r}")
    return f"{_PLUGIN_PREFIX}{provider_name}."
