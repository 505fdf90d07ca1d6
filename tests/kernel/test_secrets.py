"""Secrets never leave the kernel: URL passwords and secret keys are masked in displays and logs."""

from __future__ import annotations

import logging

import pytest

from sublarr.core.secrets import is_secret_key, mask_url, mask_value, scrub
from sublarr.core.settings import load_settings


@pytest.mark.parametrize(("url", "masked"), [
    ("postgresql://user:pa55@db:5432/sublarr", "postgresql://user:***@db:5432/sublarr"),
    ("postgresql+psycopg2://user:p%40ss@db/sublarr", "postgresql+psycopg2://user:***@db/sublarr"),
    ("redis://:pa55@cache:6379/0", "redis://:***@cache:6379/0"),
    ("redis://cache:6379/0", "redis://cache:6379/0"),
    ("postgresql://user@db/sublarr", "postgresql://user@db/sublarr"),
    ("sqlite:///sublarr.db", "sqlite:///sublarr.db"),
    ("https://hook.example/x?token=abc&x=1", "https://hook.example/x?token=***&x=1"),
    ("", ""),
])
def test_mask_url(url, masked):
    assert mask_url(url) == masked


@pytest.mark.parametrize("key", ["secret", "webhook_secret", "password", "api_key", "apikey", "auth_token",
                                 "dsn", "key", "tmdb_key"])
def test_secret_keys(key):
    assert is_secret_key(key)
    assert mask_value(key, "value") == "***"


@pytest.mark.parametrize("key", ["db_path", "cache_key_prefix", "queue_name", "monkey_business"])
def test_plain_keys(key):
    assert not is_secret_key(key)
    assert mask_value(key, "value") == "value"


def test_registered_secrets_are_scrubbed_from_every_log_record(caplog):
    password = "Log-Scrub-Secret-42"
    load_settings({"database_url": f"postgresql://u:{password}@h/db", "redis_url": f"redis://:{password}x@h/0"},
                  settings_files=[])
    other = logging.getLogger("some.library")
    with caplog.at_level(logging.DEBUG):
        other.warning("connecting to postgresql://u:%s@h/db", password)
        other.debug(f"inline {password}x")
        try:
            raise RuntimeError(f"failed with {password}")
        except RuntimeError:
            other.exception("boom")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert password not in text
    assert "***" in text
    assert password not in scrub(f"a {password} b")
