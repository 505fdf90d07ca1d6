"""`sublarr hooks` and `sublarr webhooks`: list, add, delete, enable, disable and test them.

An unknown id is one line, exit status 2, like any bad argument. A webhook secret is shown once, when
``webhooks add --generate-secret`` makes it; everywhere else it is masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from sublarr.cli.api import ArgumentError, Context, echo_json, pass_context, table
from sublarr.core.errors import SublarrError
from sublarr.core.secrets import scrub

from .dispatch import LISTENERS_ONLY, run_test_hook, send_test_webhook
from .repository import WEBHOOK_FAILURE_LIMIT, HookRepository, mask_webhook
from .scripts import ScriptRefused, validate_script_path
from .webhooks import generate_secret


def _check_event(kernel, event: str, wildcard: bool) -> None:
    """``event`` must be in the catalog (or ``*`` where every event is allowed) and reach hooks."""
    if wildcard and event == "*":
        return
    if event not in kernel.events:
        every = " (or '*' for every event)" if wildcard else ""
        raise ArgumentError(f"unknown event {event!r}; see `sublarr events`{every}")
    if event in LISTENERS_ONLY:
        raise ArgumentError(f"{event!r} is delivered to plugins only, never to script hooks or webhooks")


def _existing(repo, kind: str, item_id: int) -> dict:
    found = repo.get_hook(item_id) if kind == "hook" else repo.get_webhook(item_id)
    if found is None:
        raise ArgumentError(f"no {'script hook' if kind == 'hook' else 'webhook'} with id {item_id}")
    return found


def _delete(obj: Context, kind: str, item_id: int) -> None:
    """``hooks delete`` and ``webhooks delete``: the item and its log entries (``kind``: hook or webhook)."""
    repo = obj.boot().repo("hooks", HookRepository)
    item = _existing(repo, kind, item_id)
    if not (repo.delete_hook(item_id) if kind == "hook" else repo.delete_webhook(item_id)):
        # deleted by someone else meanwhile
        raise ArgumentError(f"no {'script hook' if kind == 'hook' else 'webhook'} with id {item_id}")
    click.echo(f"{kind} {item_id} deleted: {item['name']} (and its log entries)")


@click.group("hooks")
def hooks_command() -> None:
    """Script hooks: list, add, delete, enable, disable, test."""


@hooks_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_hooks(obj: Context, as_json: bool) -> None:
    """The configured script hooks."""
    hooks = obj.boot().repo("hooks", HookRepository).get_hooks()
    if as_json:
        echo_json(hooks)
        return
    click.echo(table([[h["id"], h["name"], h["event_name"], "yes" if h["enabled"] else "no", h["script_path"],
                       h["timeout_seconds"], h["trigger_count"], h["last_status"] or "-"] for h in hooks],
                     ["id", "name", "event", "enabled", "script", "timeout", "runs", "last"]))


@hooks_command.command("add")
@click.argument("name")
@click.argument("event")
@click.argument("script")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(min=1), default=30, show_default=True,
              help="seconds before the script is killed")
@click.option("--disabled", is_flag=True, help="create the hook disabled")
@pass_context
def add_hook(obj: Context, name: str, event: str, script: str, timeout_seconds: int, disabled: bool) -> None:
    """Add a script hook running SCRIPT (a path under hooks_dir) on EVENT."""
    kernel = obj.boot()
    _check_event(kernel, event, wildcard=False)
    try:
        path = validate_script_path(script, kernel.settings.hooks_dir)
    except ScriptRefused as exc:
        raise click.BadParameter(str(exc), param_hint="SCRIPT") from None
    hook = kernel.repo("hooks", HookRepository).create_hook(
        name, event, str(path), timeout_seconds=timeout_seconds, enabled=not disabled)
    click.echo(f"hook {hook['id']} added: {name} runs {path} on {event}")


@hooks_command.command("delete")
@click.argument("hook_id", type=int)
@pass_context
def delete_hook(obj: Context, hook_id: int) -> None:
    """Delete script hook HOOK_ID and its log entries."""
    _delete(obj, "hook", hook_id)


@hooks_command.command("enable")
@click.argument("hook_id", type=int)
@pass_context
def enable_hook(obj: Context, hook_id: int) -> None:
    """Run script hook HOOK_ID on its event again."""
    _switch_hook(obj, hook_id, True)


@hooks_command.command("disable")
@click.argument("hook_id", type=int)
@pass_context
def disable_hook(obj: Context, hook_id: int) -> None:
    """Stop running script hook HOOK_ID (it is kept; `hooks enable` turns it back on)."""
    _switch_hook(obj, hook_id, False)


def _switch_hook(obj: Context, hook_id: int, enabled: bool) -> None:
    if not obj.boot().repo("hooks", HookRepository).update_hook(hook_id, enabled=enabled):
        raise ArgumentError(f"no script hook with id {hook_id}")
    click.echo(f"hook {hook_id} {'enabled' if enabled else 'disabled'}")


@hooks_command.command("test")
@click.argument("hook_id", type=int)
@pass_context
def hooks_test(obj: Context, hook_id: int) -> None:
    """Run script hook HOOK_ID now with a `test` event; exit 1 when it fails."""
    kernel = obj.boot()
    _existing(kernel.repo("hooks", HookRepository), "hook", hook_id)
    result = run_test_hook(kernel, hook_id)
    click.echo(f"hook {hook_id}: {'ok' if result.success else 'FAILED'}, exit code {result.exit_code}, "
               f"{result.duration_ms:g} ms")
    for label, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            click.echo(f"--- {label}\n{text.rstrip()}")
    if not result.success:
        raise SublarrError(f"hook {hook_id} failed: {result.error}")


@click.group("webhooks")
def webhooks_command() -> None:
    """Outgoing webhooks: list, add, delete, enable, disable, test."""


def _shown_webhook(webhook: Mapping[str, Any]) -> dict[str, Any]:
    """A webhook for display: secret and URL password masked, the last delivery's outcome added
    (``ok``, ``failed`` or None when never delivered) and ``paused`` when the failure limit stopped it."""
    shown = mask_webhook(webhook)
    shown["last_error"] = scrub(shown.get("last_error") or "")
    shown["last_outcome"] = None if not shown.get("last_triggered_at") else "failed" if shown["last_error"] else "ok"
    shown["paused"] = bool(shown.get("enabled")) and (shown.get("consecutive_failures") or 0) >= WEBHOOK_FAILURE_LIMIT
    return shown


def _last_delivery(w: Mapping[str, Any]) -> str:
    if w["last_outcome"] is None:
        return "never"
    status = f"HTTP {w['last_status_code']}" if w.get("last_status_code") else "no answer"
    return f"{w['last_outcome']} ({status}, {w['last_triggered_at']})"


@webhooks_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_webhooks(obj: Context, as_json: bool) -> None:
    """The configured webhooks with their last delivery (secrets and URL passwords masked)."""
    webhooks = [_shown_webhook(w) for w in obj.boot().repo("hooks", HookRepository).get_webhooks()]
    if as_json:
        echo_json(webhooks)
        return
    click.echo(table([[w["id"], w["name"], w["event_name"],
                       "paused" if w["paused"] else "yes" if w["enabled"] else "no", w["url"], w["secret"] or "-",
                       _last_delivery(w), w["consecutive_failures"], " ".join(w["last_error"].split()) or "-"]
                      for w in webhooks],
                     ["id", "name", "event", "enabled", "url", "secret", "last delivery", "failures", "last error"]))
    if any(w["paused"] for w in webhooks):
        click.echo(f"paused: {WEBHOOK_FAILURE_LIMIT} failed deliveries in a row; `sublarr webhooks enable ID` "
                   f"resumes it")


@webhooks_command.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--event", required=True, metavar="EVENT", help="the event to deliver ('*' for every event)")
@click.option("--secret", metavar="SECRET",
              help="signing secret (other local users may see command lines: prefer --generate-secret)")
@click.option("--generate-secret", "generate", is_flag=True, help="make a random signing secret and print it, this once")
@click.option("--retries", "retry_count", type=click.IntRange(min=0, max=10), default=3, show_default=True,
              help="retries of a failed delivery (with backoff)")
@click.option("--timeout", "timeout_seconds", type=click.IntRange(min=1, max=300), default=10, show_default=True,
              help="seconds to wait for the receiver")
@click.option("--disabled", is_flag=True, help="create the webhook disabled")
@pass_context
def add_webhook(obj: Context, name: str, url: str, event: str, secret: str | None, generate: bool,
                retry_count: int, timeout_seconds: int, disabled: bool) -> None:
    """Add a webhook NAME that POSTs EVENT to URL (checked by the same guard as every delivery)."""
    if secret is not None and generate:
        raise click.UsageError("give --secret or --generate-secret, not both")
    if secret is not None and not secret.strip():
        raise click.BadParameter("must not be empty (leave --secret out for an unsigned webhook)",
                                 param_hint="--secret")
    kernel = obj.boot()
    _check_event(kernel, event, wildcard=True)
    signing = generate_secret() if generate else secret or ""
    try:
        webhook = kernel.repo("hooks", HookRepository).create_webhook(
            name, event, url, secret=signing, retry_count=retry_count, timeout_seconds=timeout_seconds,
            enabled=not disabled)
    except ValueError as exc:  # the URL guard (or a bad name): the same message a delivery would log
        raise ArgumentError(scrub(str(exc))) from None
    shown = mask_webhook(webhook)
    click.echo(f"webhook {webhook['id']} added: {name} posts {event} to {shown['url']}"
               + (" (disabled)" if disabled else ""))
    if generate:
        click.echo(f"secret: {signing}")
        click.echo("  shown only this once: configure the receiver with it now (see the README, "
                   "\"Verifying a delivery\")")


@webhooks_command.command("delete")
@click.argument("webhook_id", type=int)
@pass_context
def delete_webhook(obj: Context, webhook_id: int) -> None:
    """Delete webhook WEBHOOK_ID and its log entries."""
    _delete(obj, "webhook", webhook_id)


@webhooks_command.command("enable")
@click.argument("webhook_id", type=int)
@pass_context
def enable_webhook(obj: Context, webhook_id: int) -> None:
    """Deliver to webhook WEBHOOK_ID again; also resumes one paused after repeated failures."""
    if not obj.boot().repo("hooks", HookRepository).update_webhook(webhook_id, enabled=True):
        raise ArgumentError(f"no webhook with id {webhook_id}")
    click.echo(f"webhook {webhook_id} enabled (failure count reset)")


@webhooks_command.command("disable")
@click.argument("webhook_id", type=int)
@pass_context
def disable_webhook(obj: Context, webhook_id: int) -> None:
    """Stop delivering to webhook WEBHOOK_ID (it is kept; `webhooks enable` turns it back on)."""
    if not obj.boot().repo("hooks", HookRepository).update_webhook(webhook_id, enabled=False):
        raise ArgumentError(f"no webhook with id {webhook_id}")
    click.echo(f"webhook {webhook_id} disabled")


@webhooks_command.command("test")
@click.argument("webhook_id", type=int)
@pass_context
def webhooks_test(obj: Context, webhook_id: int) -> None:
    """Deliver a `test` event to webhook WEBHOOK_ID now; exit 1 when it fails."""
    kernel = obj.boot()
    _existing(kernel.repo("hooks", HookRepository), "webhook", webhook_id)
    result = send_test_webhook(kernel, webhook_id)
    status = result.status_code if result.status_code is not None else "-"
    click.echo(f"webhook {webhook_id}: {'ok' if result.success else 'FAILED'}, HTTP status {status}, "
               f"{result.attempts} attempt(s), {result.duration_ms:g} ms")
    if not result.success:
        raise SublarrError(f"webhook {webhook_id} failed: {result.error}")
