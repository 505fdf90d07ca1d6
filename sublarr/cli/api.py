"""The API for ``sublarr`` sub-commands, built-in and from plugins (see docs/plugins.md, "A command").

    from sublarr.cli.api import Context, echo_json, pass_context, table

    @click.command("watchlist")
    @click.option("--json", "as_json", is_flag=True)
    @pass_context
    def watchlist(obj: Context, as_json: bool) -> None:
        rows = obj.boot().repo("watchlist").get_watchlist()   # closed when the command ends
        if as_json:
            echo_json(rows)
        else:
            click.echo(table([[r["id"], r["path_prefix"]] for r in rows], ["id", "path"]))

Errors: raise ``click.UsageError``/``click.BadParameter`` or ``sublarr.core.errors.SettingsError`` for
bad input (exit 2), ``ArgumentError`` for an argument found wrong after parsing, such as an unknown id
(one line, exit 2), ``SublarrError`` for a failure (exit 1); ``sublarr`` prints them as one line.
This module imports nothing else from ``sublarr.cli``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from sublarr.core.configuration import Configuration
    from sublarr.core.kernel import Kernel

__all__ = ["ArgumentError", "Context", "echo_json", "pass_context", "table"]


class Context:
    """What every ``sublarr`` command receives (``ctx.obj``): the ``--settings`` files, the
    configuration (settings and plugins, loaded once per process) and the kernels it boots."""

    def __init__(self, settings_files: tuple[str, ...] | list[str] = (),
                 configuration: Configuration | None = None):
        self.settings_files = list(settings_files) or None
        self._configuration = configuration
        self._kernels: list[Kernel] = []

    @property
    def configuration(self) -> Configuration:
        """Resolved settings and loaded plugins, without storage (``sublarr config``, ``plugins``)."""
        if self._configuration is None:
            from sublarr.core.configuration import Configuration

            self._configuration = Configuration(settings_files=self.settings_files)
        return self._configuration

    def boot(self, *, create: str = "database", **overrides: Any) -> Kernel:
        """A kernel on the configured setup (``overrides`` win over the settings); closed when the
        command ends. ``create``: may a missing database be created? ``"database"`` (default: in a
        folder that exists), ``"never"`` (commands that only look), ``"parents"`` (folders too)."""
        from sublarr.core.kernel import Kernel
        from sublarr.drivers.base import Create

        kernel = Kernel(self.configuration.with_overrides(**overrides), create=Create(create))
        self._kernels.append(kernel)
        return kernel

    def close(self) -> None:
        while self._kernels:
            self._kernels.pop().close()


pass_context = click.make_pass_decorator(Context)


class ArgumentError(click.ClickException):
    """An argument that parsed but names nothing (``no job with id 'x'``): one line, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"sublarr: error: {self.format_message()}", err=True, file=file)


def echo_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (dates and other objects as strings)."""
    click.echo(json.dumps(data, indent=2, default=str, sort_keys=False))


def table(rows: list[list[Any]], headers: list[str] | None = None) -> str:
    """Rows as left-aligned columns (``None`` shows empty), with a rule under the headers."""
    data = [[("" if c is None else str(c)) for c in row] for row in rows]
    if headers:
        data.insert(0, headers)
    if not data:
        return ""
    widths = [max(len(r[i]) for r in data) for i in range(len(data[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in data]
    if headers:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
