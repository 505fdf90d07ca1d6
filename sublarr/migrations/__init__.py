"""The Alembic environment shared by every domain plugin.

Each domain keeps its revision files in its own folder and its own version table
(``alembic_version_<domain>``), so each plugin's history is linear and independent:
removing a third-party plugin leaves the others' histories untouched.
:mod:`sublarr.core.migrate` drives this environment; ``env.py`` only runs migrations on
the connection it is handed.
"""

from pathlib import Path

ENVIRONMENT = Path(__file__).parent
