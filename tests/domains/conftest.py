"""Fixtures shared by the domain tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def patient_kernel(make_kernel):
    """The test database with a long SQLite busy timeout, active for the test.

    SQLite's busy handler polls with sleeps of up to 100 ms, so under a tight loop of eight writer
    threads one thread can lose the race for the write lock for longer than the default 5 s. These
    tests count lost updates and duplicates, not lock waits.
    """
    return make_kernel(db_busy_timeout_ms=120_000)
