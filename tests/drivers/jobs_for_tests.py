"""Job functions for the queue tests: module-level, so that RQ workers can import them by name."""

from __future__ import annotations

import os
import threading
import time

# Gates let a test hold jobs "running" (memory queue, in-process RQ worker) until it opens them.
GATES: dict[str, threading.Event] = {}


def gate(name: str) -> threading.Event:
    return GATES.setdefault(name, threading.Event())


def add(a: int, b: int) -> int:
    return a + b


def fail(message: str) -> None:
    raise ValueError(message)


def fail_unless_exists(path: str) -> str:
    """Fails until the file ``path`` exists (a job that a retry can fix)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"not there yet: {path}")
    return path


def wait_for_gate(name: str, timeout: float = 10.0) -> str:
    """Block until the test opens gate ``name`` (raises after ``timeout`` so nothing hangs forever)."""
    if not gate(name).wait(timeout):
        raise TimeoutError(f"gate {name!r} was not opened within {timeout} s")
    return name


def sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def echo_kwargs(**kwargs):
    """Returns its keyword arguments: RQ option names (timeout, description, ...) must reach the job."""
    return kwargs


def process_id() -> int:
    return os.getpid()
