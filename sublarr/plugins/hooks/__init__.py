"""hooks domain: script hooks, outgoing webhooks and their execution log (legacy ``db/hooks.py``).

Tables ``hook_configs``, ``webhook_configs`` and ``hook_log``. Both name sets exist: the legacy
functions (``create_hook_config``, ``get_hook_logs``, ``update_webhook_trigger_stats`` ...) and
the repository ones (``create_hook``, ``get_hook_log_count``, ``record_webhook_triggered`` ...);
see :mod:`.repository` for the quirks kept and the fixes. :func:`mask_webhook` gives the display
form of a webhook (secret masked). Running scripts and delivering webhooks is not done here.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl

from . import functions
from .functions import *  # noqa: F403  (the package-level functions: generated, see functions.py)
from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import hook_configs, hook_log, webhook_configs
from .repository import WEBHOOK_FAILURE_LIMIT, HookRepository, mask_webhook

__all__ = [*functions.__all__, "WEBHOOK_FAILURE_LIMIT", "mask_webhook"]


# The events this domain's features emit (``kernel.emit``); `sublarr events` lists them.
EVENTS = (
    EventType("webhook_received", "Webhook Received", "An incoming Sonarr/Radarr webhook was received",
              ("source", "event_type", "file_path")),
    EventType("hook_executed", "Hook Executed", "A script hook or webhook ran",
              ("hook_id", "webhook_id", "event_name", "success", "exit_code", "status_code")),
)


@hookimpl
def sublarr_domains():
    return [Domain(name="hooks", version=__version__,
                   tables=[hook_configs, webhook_configs, hook_log],
                   legacy_tables=("hook_configs", "webhook_configs", "hook_log"),
                   migrations=Path(__file__).parent / "migrations", repository=HookRepository)]


@hookimpl
def sublarr_events():
    return list(EVENTS)
