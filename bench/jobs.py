"""Job functions for the queue workload: importable, as RQ requires."""


def noop() -> None:
    return None
