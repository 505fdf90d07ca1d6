"""The events runtime: ``kernel.emit()`` fans out to script hooks and webhooks through the queue.

A built-in plugin. Its ``sublarr_event`` listener runs in the emitter's thread, so it only looks
up the matching targets and ENQUEUES one delivery job per target on ``kernel.queue``: the emitter
never waits for a script or an HTTP server. With the RQ driver the jobs sit in Redis and run in
``sublarr worker`` processes, surviving the emitter's exit.

Matching (legacy ``HookEngine`` / ``WebhookDispatcher``):

- script hooks: enabled, ``event_name`` equal to the event (no wildcard);
- webhooks: enabled, ``event_name`` equal to the event or ``"*"``, and fewer than
  ``WEBHOOK_FAILURE_LIMIT`` (10) consecutive failures; such a webhook is skipped until
  ``update_webhook(id, enabled=True)`` re-arms it;
- ``hook_executed`` (emitted after every delivery) goes to plugin listeners only, never to script
  hooks or webhooks: a delivery of it would emit it again, without end.

The jobs read the hook/webhook row when they run (an edit made meanwhile applies; a deleted or
disabled target is skipped) and carry only ids and the payload: no webhook secret is pickled
into Redis.

Commands: ``sublarr hooks list|add|delete|enable|disable|test`` and ``sublarr webhooks
list|add|delete|enable|disable|test`` (in :mod:`.cli`). ``test`` delivers a
``test`` event synchronously through the same functions, rules, logging and statistics as an
emitted event (so a successful test also re-arms a webhook's failure counter), whether or not
the target is enabled, and exits 1 when the delivery failed.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from sublarr.core.errors import SublarrError
from sublarr.core.events import EventType
from sublarr.core.hookspecs import hookimpl
from sublarr.core.kernel import active_kernel
from sublarr.core.secrets import scrub
from sublarr.core.settings import Setting

from .repository import HookRepository
from .scripts import HookResult, run_script_hook
from .webhooks import (
    DEFAULT_BACKOFF_FACTOR,
    WebhookResult,
    deliver_webhook,
    deliverable,
    matches,
    new_message_id,
    utc_timestamp,
)

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.hooks.dispatch")

TEST_EVENT = EventType("test", "Test", "A test delivery sent by `sublarr hooks test` or `sublarr webhooks test`",
                       ("message",))
TEST_PAYLOAD = {"message": "Test delivery from sublarr"}
# Delivered to plugin listeners only (see the module docstring).
LISTENERS_ONLY = frozenset({"hook_executed"})


# -- plugin hooks ------------------------------------------------------------------------------------

@hookimpl
def sublarr_settings() -> list[Setting]:
    return [Setting("webhook_backoff_factor", DEFAULT_BACKOFF_FACTOR, float,
                    "seconds; webhook retry n waits factor * 2 ** (n - 1) (at most 120 s)", minimum=0)]


@hookimpl
def sublarr_events() -> list[EventType]:
    return [TEST_EVENT]


@hookimpl
def sublarr_event(kernel: Kernel, event: str, payload: Mapping[str, Any]) -> None:
    """Enqueue one delivery job per matching script hook and webhook (never runs them here)."""
    if event in LISTENERS_ONLY or "hooks" not in kernel.domains:
        return
    repo = kernel.repo("hooks", HookRepository)
    hooks = repo.get_hooks(event_name=event, enabled_only=True)
    webhooks = [w for w in repo.get_webhooks(enabled_only=True) if matches(w, event) and deliverable(w)]
    if not hooks and not webhooks:
        return
    # Plain JSON data: what a memory job sees is exactly what an RQ job unpickles, and a payload
    # holding a Path or a datetime cannot break the pickling.
    data = json.loads(json.dumps(dict(payload), default=str))
    emitted_at, token = utc_timestamp(), kernel_token(kernel)
    for hook in hooks:
        _enqueue(kernel, "hook", hook["id"], event, run_hook_job, hook["id"], event, data, token)
    for webhook in webhooks:
        _enqueue(kernel, "webhook", webhook["id"], event, deliver_webhook_job, webhook["id"], event, data,
                 emitted_at, new_message_id(), token)


def _enqueue(kernel: Kernel, kind: str, target_id: int, event: str, job: Callable[..., Any], *args: Any) -> None:
    """Enqueue one delivery; a job that cannot be queued is logged in hook_log, where users look."""
    try:
        kernel.queue.enqueue(job, *args)
    except Exception as exc:  # e.g. Redis down: the RQ queue fails closed rather than drop the job
        error = f"not delivered: the job could not be queued ({scrub(str(exc)) or type(exc).__name__})"
        log.error("%s %s on %s: %s", kind, target_id, event, error)
        kernel.repo("hooks", HookRepository).create_hook_log(
            hook_id=target_id if kind == "hook" else None, webhook_id=target_id if kind == "webhook" else None,
            event_name=event, success=False,
            hook_type="script" if kind == "hook" else "webhook", error=error)


# -- the jobs (module-level functions: the RQ driver enqueues them by name) ----------------------------

# Which kernel runs a job: the memory queue belongs to the kernel that emitted, and with RQ a
# worker in the same process may serve it too, so the emitter's kernel is looked up by a token
# first. A worker process that does not know the token uses its own (active) kernel. Weak
# references: a closed and dropped kernel is not kept alive by this table.
_kernels: weakref.WeakValueDictionary[str, Kernel] = weakref.WeakValueDictionary()
_tokens: weakref.WeakKeyDictionary[Kernel, str] = weakref.WeakKeyDictionary()
_tokens_lock = threading.Lock()


def kernel_token(kernel: Kernel) -> str:
    """A process-unique name for ``kernel`` that a job can carry through any queue."""
    with _tokens_lock:
        token = _tokens.get(kernel)
        if token is None:
            token = uuid.uuid4().hex
            _tokens[kernel] = token
            _kernels[token] = kernel
        return token


def job_kernel(token: str | None) -> Kernel:
    """The kernel a delivery job runs on: the emitter's when this process has it, else the active one."""
    kernel = _kernels.get(token) if token else None
    return kernel if kernel is not None else active_kernel()


def run_hook_job(hook_id: int, event: str, payload: dict[str, Any], kernel_token: str | None = None) -> dict[str, Any]:
    """Queue job: run script hook ``hook_id`` for ``event`` (skipped if deleted or disabled meanwhile)."""
    kernel = job_kernel(kernel_token)
    hook = kernel.repo("hooks", HookRepository).get_hook(hook_id)
    if hook is None or not hook["enabled"]:
        return {"hook_id": hook_id, "skipped": "deleted" if hook is None else "disabled"}
    return _summary(run_script_hook(kernel, hook, event, payload))


def deliver_webhook_job(webhook_id: int, event: str, payload: dict[str, Any], emitted_at: str, message_id: str,
                        kernel_token: str | None = None) -> dict[str, Any]:
    """Queue job: deliver ``event`` to webhook ``webhook_id`` (skipped if deleted, disabled or over the
    failure limit meanwhile: earlier queued deliveries may have reached it)."""
    kernel = job_kernel(kernel_token)
    webhook = kernel.repo("hooks", HookRepository).get_webhook(webhook_id)
    if webhook is None or not deliverable(webhook):
        reason = "deleted" if webhook is None else "disabled" if not webhook["enabled"] else "failure limit"
        return {"webhook_id": webhook_id, "skipped": reason}
    return _summary(deliver_webhook(kernel, webhook, event, payload, message_id=message_id, timestamp=emitted_at))


def _summary(result: HookResult | WebhookResult) -> dict[str, Any]:
    """The job's result, kept by the queue: no script output (it is in hook_log)."""
    return {k: v for k, v in result.as_dict().items() if k not in ("stdout", "stderr")}


# -- test deliveries -----------------------------------------------------------------------------------

def run_test_hook(kernel: Kernel, hook_id: int) -> HookResult:
    """Run script hook ``hook_id`` now with a ``test`` event (the same path as a queued delivery)."""
    hook = kernel.repo("hooks", HookRepository).get_hook(hook_id)
    if hook is None:
        raise SublarrError(f"no script hook with id {hook_id}")
    return run_script_hook(kernel, hook, TEST_EVENT.name, TEST_PAYLOAD)


def send_test_webhook(kernel: Kernel, webhook_id: int) -> WebhookResult:
    """Deliver a ``test`` event to webhook ``webhook_id`` now (the same path as a queued delivery)."""
    webhook = kernel.repo("hooks", HookRepository).get_webhook(webhook_id)
    if webhook is None:
        raise SublarrError(f"no webhook with id {webhook_id}")
    return deliver_webhook(kernel, webhook, TEST_EVENT.name, TEST_PAYLOAD)


# -- commands (in .cli, imported only when the command line is built) ---------------------------------

@hookimpl
def sublarr_cli(cli) -> None:
    from .cli import hooks_command, webhooks_command

    cli.add_command(hooks_command)
    cli.add_command(webhooks_command)
