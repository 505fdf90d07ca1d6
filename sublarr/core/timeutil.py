"""The kernel's one timestamp format: naive UTC ISO-8601 with microseconds, fixed width.

``2026-11-25T01:02:03.000004``: string order is time order, and Python's
``datetime.fromisoformat`` (what the legacy readers used) parses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

FORMAT = "%Y-%m-%dT%H:%M:%S.%f"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def fmt(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime(FORMAT)


def now_iso() -> str:
    """Now, in the kernel's format (``fmt(utcnow())``; isoformat is twice as fast as strftime, and
    this runs in every write: the first 26 characters leave out the ``+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")[:26]


def iso_in(**delta: float) -> str:
    """Now plus ``timedelta(**delta)``, in the kernel's format (negative values for the past)."""
    return fmt(utcnow() + timedelta(**delta))


def utc_today() -> str:
    return utcnow().date().isoformat()


def parse(value: str | None) -> datetime | None:
    """Parse any timestamp the legacy layer or the kernel wrote; None when it is not one."""
    if not value:
        return None
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def normalise(value: str | None) -> str | None:
    """Rewrite a legacy timestamp to the kernel's format; values that are not timestamps are kept."""
    moment = parse(value)
    return fmt(moment) if moment is not None else value
