"""``python -m sublarr.cli``: the same as the ``sublarr`` command."""

from sublarr.cli import main

main()
