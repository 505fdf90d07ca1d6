"""The plugin API: every hook a sublarr plugin can implement.

A plugin is a module (or object) with functions marked ``@sublarr.hookimpl``, named after the
specs below. Built-in drivers and domains use exactly these hooks. Third-party plugins are
found through entry points in group ``sublarr``::

    [project.entry-points.sublarr]
    myplugin = "myplugin.plugin"

Implementations may accept fewer arguments than the spec (pluggy passes by name), so new
arguments can be added to a spec without breaking existing plugins. A plugin module may set
``SUBLARR_REQUIRES = ">=0.1,<1"`` to declare the kernel versions it supports.
"""

from __future__ import annotations

import pluggy

PROJECT = "sublarr"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# -- registration (called once per boot, while the kernel is assembled) ------------------------

@hookspec
def sublarr_settings():
    """Return a list of :class:`sublarr.core.settings.Setting` this plugin reads.

    Called before storage is opened; values come from the same layers as the core settings.
    """


@hookspec
def sublarr_storage_drivers():
    """Return a list of storage driver classes (subclasses of ``sublarr.drivers.base.StorageDriver``).

    A storage driver is chosen by the scheme of ``database_url`` (``driver.schemes``).
    """


@hookspec
def sublarr_cache_drivers():
    """Return a list of cache driver classes (``sublarr.drivers.base.CacheDriver``), chosen by ``name``."""


@hookspec
def sublarr_queue_drivers():
    """Return a list of queue driver classes (``sublarr.drivers.base.QueueDriver``), chosen by ``name``."""


@hookspec
def sublarr_domains():
    """Return a list of :class:`sublarr.core.domain.Domain`: tables, migrations and repository.

    Each domain's migrations form one linear history with its own version table.
    """


@hookspec
def sublarr_events():
    """Return a list of :class:`sublarr.core.events.EventType`: the events this plugin emits.

    The kernel declares none of its own; each built-in domain declares its events here too.
    """


@hookspec
def sublarr_cli(cli):
    """Add click commands to the ``sublarr`` command group ``cli`` (``cli.add_command(...)``)."""


# -- lifecycle (called on a booted kernel) -------------------------------------------------------

@hookspec
def sublarr_boot(kernel):
    """The kernel is booted: storage open, migrations applied, cache and queue ready."""


@hookspec
def sublarr_event(kernel, event, payload):
    """An event was emitted with ``kernel.emit(event, payload)``. Runs in the emitter's thread: be quick."""


@hookspec
def sublarr_maintenance(kernel):
    """Periodic housekeeping in ``sublarr run`` (every ``maintenance_interval_seconds``), e.g. a
    domain removing its expired cache rows."""


@hookspec
def sublarr_metrics(kernel):
    """Return a list of ``prometheus_client`` metric families (``GaugeMetricFamily``,
    ``CounterMetricFamily`` ...) computed now, for ``GET /metrics`` of ``sublarr run``.

    Called on every scrape from the HTTP server's threads: use bounded queries (an index, a range
    of new rows, a small table), never a scan of a table that grows with the library. No URL, path
    or secret in a label. A failure is logged and leaves the other metrics served.
    """


@hookspec
def sublarr_shutdown(kernel):
    """The kernel is closing; release what the plugin holds. Called once, before pools close."""
