"""pytest plugin for plugin authors (entry point ``pytest11``: loaded automatically).

Fixtures:

``sublarr_kernel``
    A booted kernel on a temporary SQLite file (or on ``SUBLARR_TEST_DATABASE_URL`` when set,
    e.g. a PostgreSQL test database), with migrations applied and no Redis. It is the active
    kernel during the test and is closed afterwards.

``sublarr_plugin``
    Registers a throwaway plugin (module, class or object with ``@sublarr.hookimpl`` methods)
    for one test: ``kernel = sublarr_plugin(MyPlugin())`` boots a kernel with it registered
    and unregisters it afterwards.
"""

from __future__ import annotations

import os

import pytest


def _boot(tmp_path, extra_plugins=(), **overrides):
    from sublarr import Kernel

    url = os.environ.get("SUBLARR_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'sublarr-test.db'}"
    overrides.setdefault("redis_url", "")
    return Kernel.boot(database_url=url, settings_files=[], extra_plugins=extra_plugins, **overrides)


@pytest.fixture
def sublarr_kernel(tmp_path):
    kernel = _boot(tmp_path)
    yield kernel
    kernel.close()


@pytest.fixture
def sublarr_plugin(tmp_path):
    kernels = []

    def register(*plugins, **overrides):
        kernel = _boot(tmp_path, extra_plugins=plugins, **overrides)
        kernels.append(kernel)
        return kernel

    yield register
    for kernel in reversed(kernels):
        kernel.close()
