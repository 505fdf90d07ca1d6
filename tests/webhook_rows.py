"""Webhook rows that the save-time SSRF check would refuse, as an adopted legacy database or a
row saved under a wider ``webhook_allowed_hosts`` holds them: the delivery must refuse them too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

PLACEHOLDER_URL = "http://8.8.8.8/placeholder"


def store_webhook(kernel: Any, name: str, event_name: str, url: str, **fields: Any) -> dict:
    """A webhook row with ``url`` written by SQL, past ``create_webhook``'s guard; returns the row."""
    repo = kernel.repo("hooks")
    webhook = repo.create_webhook(name, event_name, PLACEHOLDER_URL, **fields)
    with kernel.transaction() as session:
        session.execute(text("UPDATE webhook_configs SET url = :url WHERE id = :id"), {"url": url, "id": webhook["id"]})
    return repo.get_webhook(webhook["id"])
