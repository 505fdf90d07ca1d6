"""Data mobility tests: legacy adoption, database copy, backup and restore."""
