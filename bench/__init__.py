"""Benchmarks of the sublarr kernel against the raw drivers doing the same work (`python -m bench`)."""
