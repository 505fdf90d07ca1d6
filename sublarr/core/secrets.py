"""Secret masking: URLs, secret-looking keys, and a log-record scrubber.

Every value that could carry a credential passes through here before it is shown.
Registered secret strings are also removed from every log record, whatever logger
emits it (Sublarr pentest F-12 leaked a DSN through the config API).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

_SECRET_WORDS = ("secret", "password", "passwd", "token", "api_key", "apikey", "dsn", "credential")
_URL_KEYS = ("url", "uri")


def is_secret_key(key: str) -> bool:
    """True for setting/field names whose values are secrets (``*_secret``, ``*_token``, ``*_key``...)."""
    k = key.lower()
    if any(word in k for word in _SECRET_WORDS):
        return True
    return k == "key" or k.endswith("_key") or k.startswith("key_")


def mask_url(url: str) -> str:
    """``postgresql://user:pw@host/db`` -> ``postgresql://user:***@host/db``; other text unchanged."""
    if not url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1" + MASK + "@", url)
    if parts.password is None and "@" not in parts.netloc:
        return _mask_query(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    # a user name alone is not a secret; a password after the colon is
    netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{hostport}" if ":" in userinfo else parts.netloc
    masked = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return _mask_query(masked)


def _mask_query(url: str) -> str:
    return re.sub(r"(?i)([?&](?:password|secret|token|api_key)=)[^&#]*", r"\1" + MASK, url)


def mask_value(key: str, value: object) -> object:
    """The display form of a setting or field value."""
    if value in (None, ""):
        return value
    if is_secret_key(key):
        return MASK
    if isinstance(value, str) and (any(key.lower().endswith(s) for s in _URL_KEYS) or "://" in value):
        return mask_url(value)
    return value


def url_password(url: str) -> str | None:
    """The password part of a URL (to register it for scrubbing), or None."""
    if not url or "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        return parts.password or None
    except ValueError:
        return None
    return None


class _Registry:
    """Secret strings to scrub from log records; process-wide, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._installed = False

    def add(self, values: Iterable[str | None]) -> None:
        new = {v for v in values if v and len(v) >= 3}
        if not new:
            return
        with self._lock:
            self._values = self._values | new
            if not self._installed:
                _install_record_factory()
                self._installed = True

    def scrub(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    @property
    def values(self) -> frozenset[str]:
        return self._values


registry = _Registry()


def scrub(text: str) -> str:
    """Remove every registered secret from ``text``."""
    return registry.scrub(text)


def first_line(exc: BaseException) -> str:
    """The first line of an error (of the database driver's own error when SQLAlchemy wraps one),
    secrets removed: what a one-line report or log shows. The type's name when there is no text."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub(lines[0] if lines else type(exc).__name__)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if registry.values:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string is the logger's problem, not ours
                return record
            cleaned = registry.scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
            if record.exc_info and record.exc_info[1] is not None:
                text = str(record.exc_info[1])
                if registry.scrub(text) != text:
                    record.exc_text = registry.scrub(logging.Formatter().formatException(record.exc_info))
                    record.exc_info = None
        return record

    logging.setLogRecordFactory(factory)
