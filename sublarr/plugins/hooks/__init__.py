"""hooks domain: script hooks, outgoing webhooks and their execution log (legacy ``db/hooks.py``).

Tables ``hook_configs``, ``webhook_configs`` and ``hook_log``. Both name sets exist: the legacy
functions (``create_hook_config``, ``get_hook_logs``, ``update_webhook_trigger_stats`` ...) and
the repository ones (``create_hook``, ``get_hook_log_count``, ``record_webhook_triggered`` ...);
see :mod:`.repository` for the quirks kept and the fixes. :func:`mask_webhook` gives the display
form of a webhook (secret masked). Running scripts and delivering webhooks is not done here.
"""

from pathlib import Path

from sublarr import __version__
from sublarr.core.domain import Domain, export
from sublarr.core.hookspecs import hookimpl

from .metrics import sublarr_metrics  # noqa: F401  (a hook of this plugin)
from .models import HookConfig, HookLog, WebhookConfig
from .repository import WEBHOOK_FAILURE_LIMIT, HookRepository, mask_webhook

__all__ = [*export("hooks", HookRepository, globals()), "WEBHOOK_FAILURE_LIMIT", "mask_webhook"]


@hookimpl
def sublarr_domains():
    return [Domain(name="hooks", version=__version__,
                   tables=[HookConfig.__table__, WebhookConfig.__table__, HookLog.__table__],
                   migrations=Path(__file__).parent / "migrations", repository=HookRepository)]
