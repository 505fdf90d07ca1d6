"""Sublarr kernel: a small pluggy microkernel for Sublarr's data layer.

    from sublarr import Kernel
    with Kernel.boot() as kernel:
        kernel.repo("wanted").get_wanted_count()
"""

__version__ = "0.1.0"

from sublarr.core.hookspecs import hookimpl, hookspec  # noqa: E402
from sublarr.core.kernel import Kernel, active_kernel  # noqa: E402

__all__ = ["Kernel", "active_kernel", "hookimpl", "hookspec", "__version__"]
