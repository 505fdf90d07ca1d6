"""plugin_config domain: per-provider plugin settings (legacy ``db/plugins.py``).

No table of its own: settings live in the config domain's ``config_entries`` under keys
``plugin.<provider_name>.<key>``. Provider names are matched literally and case-sensitively,
so one provider never reads or deletes another's keys.
"""

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .repository import PluginConfigRepository

__all__ = export("plugin_config", PluginConfigRepository, globals())


@hookimpl
def sublarr_domains():
    return [Domain(name="plugin_config", version=__version__, tables=[], migrations=None,
                   repository=PluginConfigRepository, requires=("config",))]
