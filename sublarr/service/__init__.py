"""What ``sublarr run`` adds around a booted kernel, for the operator (see the README, "Operating it").

    health.py   readiness of storage, schema, cache and queue; the degraded/recovered log lines
    metrics.py  the Prometheus collector of ``/metrics`` (domains add theirs with ``sublarr_metrics``)
    http.py     ``/healthz``, ``/readyz``, ``/metrics`` served by waitress in a thread
    backups.py  scheduled backups (``backup_interval_hours``) and the time of the last one
"""
