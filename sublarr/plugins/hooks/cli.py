"""`sublarr hooks` and `sublarr webhooks`: list, add and test script hooks and webhooks."""

from __future__ import annotations

import click

from sublarr.cli.api import Context, echo_json, pass_context, table
from sublarr.core.errors import SublarrError

from .dispatch import LISTENERS_ONLY, run_test_hook, send_test_webhook
from .repository import mask_webhook
from .scripts import ScriptRefused, validate_script_path


@click.group("hooks")
def hooks_command() -> None:
    """Script hooks: list, add, test."""


@hooks_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_hooks(obj: Context, as_json: bool) -> None:
    """The configured script hooks."""
    hooks = obj.boot().repo("hooks").get_hooks()
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
    if event not in kernel.events:
        raise click.BadParameter(f"unknown event {event!r}; see `sublarr events`", param_hint="EVENT")
    if event in LISTENERS_ONLY:
        raise click.BadParameter(f"{event!r} is delivered to plugins only, never to script hooks",
                                 param_hint="EVENT")
    try:
        path = validate_script_path(script, kernel.settings.hooks_dir)
    except ScriptRefused as exc:
        raise click.BadParameter(str(exc), param_hint="SCRIPT") from None
    hook = kernel.repo("hooks").create_hook(name, event, str(path), timeout_seconds=timeout_seconds,
                                            enabled=not disabled)
    click.echo(f"hook {hook['id']} added: {name} runs {path} on {event}")


@hooks_command.command("test")
@click.argument("hook_id", type=int)
@pass_context
def hooks_test(obj: Context, hook_id: int) -> None:
    """Run script hook HOOK_ID now with a `test` event; exit 1 when it fails."""
    kernel = obj.boot()
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
    """Outgoing webhooks: list, test."""


@webhooks_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@pass_context
def list_webhooks(obj: Context, as_json: bool) -> None:
    """The configured webhooks (secrets and URL passwords masked)."""
    webhooks = [mask_webhook(w) for w in obj.boot().repo("hooks").get_webhooks()]
    if as_json:
        echo_json(webhooks)
        return
    click.echo(table([[w["id"], w["name"], w["event_name"], "yes" if w["enabled"] else "no", w["url"],
                       w["secret"] or "-", w["consecutive_failures"], w["last_status_code"] or "-"]
                      for w in webhooks],
                     ["id", "name", "event", "enabled", "url", "secret", "failures", "last status"]))


@webhooks_command.command("test")
@click.argument("webhook_id", type=int)
@pass_context
def webhooks_test(obj: Context, webhook_id: int) -> None:
    """Deliver a `test` event to webhook WEBHOOK_ID now; exit 1 when it fails."""
    kernel = obj.boot()
    result = send_test_webhook(kernel, webhook_id)
    status = result.status_code if result.status_code is not None else "-"
    click.echo(f"webhook {webhook_id}: {'ok' if result.success else 'FAILED'}, HTTP status {status}, "
               f"{result.attempts} attempt(s), {result.duration_ms:g} ms")
    if not result.success:
        raise SublarrError(f"webhook {webhook_id} failed: {result.error}")
