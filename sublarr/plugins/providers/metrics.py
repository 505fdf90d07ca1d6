"""``/metrics`` of the providers domain: searches and downloads per provider, auto-disabled ones.

Bounded: ``provider_stats`` holds one row per provider (a handful), read whole.
"""

from __future__ import annotations

from sublarr.core.hookspecs import hookimpl


@hookimpl
def sublarr_metrics(kernel):
    # at scrape time: `sublarr status` never loads prometheus_client
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    repo = kernel.repo("providers")
    rows = repo.get_all_provider_stats()
    disabled = {row["provider_name"] for row in repo.get_disabled_providers()}
    searches = CounterMetricFamily("sublarr_provider_searches", "Searches recorded per provider",
                                   labels=["provider"])
    downloads = CounterMetricFamily("sublarr_provider_downloads", "Downloads per provider by outcome "
                                    "(a failed search counts as a failure, as in the legacy statistics)",
                                    labels=["provider", "outcome"])
    auto_disabled = GaugeMetricFamily("sublarr_provider_auto_disabled",
                                      "1 while a provider is auto-disabled (circuit open)", labels=["provider"])
    for row in rows:
        name = row["provider_name"]
        searches.add_metric([name], row["total_searches"] or 0)
        downloads.add_metric([name, "success"], row["successful_downloads"] or 0)
        downloads.add_metric([name, "failure"], row["failed_downloads"] or 0)
        auto_disabled.add_metric([name], 1 if name in disabled else 0)
    return [searches, downloads, auto_disabled]
