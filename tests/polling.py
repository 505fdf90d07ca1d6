"""Waiting for something another thread or process does, without ever hanging a test."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition",
               step: float = 0.02) -> Any:
    """Poll ``condition`` until it returns something true and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s")
        time.sleep(step)
