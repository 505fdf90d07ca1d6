"""Built-in maintenance (a plugin): expired cache rows go, in `sublarr run`, every
``maintenance_interval_seconds``. Only data that can no longer be served is removed."""

from __future__ import annotations

import logging

from sublarr.core.hookspecs import hookimpl

log = logging.getLogger("sublarr.maintenance")

# (domain, function): each removes rows past their expiry and returns how many.
TASKS = (
    ("providers", "cleanup_expired_cache"),
    ("standalone", "clear_expired_metadata_cache"),
)


@hookimpl
def sublarr_maintenance(kernel):
    for domain, function in TASKS:
        if domain not in kernel.domains:
            continue
        removed = getattr(kernel.repo(domain), function)()
        if removed:
            log.info("maintenance: %s.%s removed %s rows", domain, function, removed)
