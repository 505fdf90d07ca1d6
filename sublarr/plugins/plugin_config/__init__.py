"""plugin_config domain: per-provider plugin settings (legacy ``db/plugins.py``).

No table of its own: settings live in the config domain's ``config_entries`` under keys
``plugin.<provider_name>.<key>``. Provider names are matched literally and case-sensitively,
so one provider never reads or deletes another's keys.
"""

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .repository import PluginConfigRepository

__all__ = functions.__all__


@hookimpl
def sublarr_domains():
    return [Domain(name="plugin_config", version=__version__, tables=[], migrations=None,
                   repository=PluginConfigRepository, requires=("config",))]
