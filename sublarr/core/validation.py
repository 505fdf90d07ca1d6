"""One vocabulary for the values public domain functions receive.

Every check takes the parameter's name first and the value second, returns the value to store
and raises ``ValueError`` naming the parameter, so one bad value reads the same in every domain
("enabled must be True or False (or 1 or 0), got 5"). A domain declares a field's rules once,
as a mapping of field name to check (``functools.partial`` sets the options), and runs a call's
fields through :func:`clean_fields`::

    _FOLDER_FIELDS = {"path": partial(require_str, allow_empty=False, max_bytes=MAX_INDEXED_BYTES),
                      "label": require_str, "enabled": require_flag}
    values = clean_fields("watched folder", _FOLDER_FIELDS, fields)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, overload

from sublarr.core.timeutil import iso_in

# Longest text (UTF-8 bytes) accepted for a column that is indexed, a primary key or unique.
# PostgreSQL cannot store a btree index entry above ~2704 bytes (after compression), so a long,
# hard-to-compress value there fails with a raw "index row size ... exceeds btree" error, while
# SQLite accepts it. 2000 leaves room for the other columns of composite keys; real file paths,
# names and keys are far shorter. The same limit applies on every engine, so they behave alike.
MAX_INDEXED_BYTES = 2000
# The same for all the text of a composite key together (the entry also holds a tuple header
# and the columns' length headers, a few dozen bytes at most).
MAX_COMPOSITE_KEY_BYTES = 2600

_SURROGATE = re.compile("[\ud800-\udfff]")

Check = Callable[[str, Any], Any]


# -- text -----------------------------------------------------------------------------------------

def check_text(name: str, value: str) -> str:
    """Refuse lone surrogates (``"\\ud800"`` is valid JSON and Python, but no database driver can
    encode it: a codec error naming no field, before)."""
    if not value.isascii() and _SURROGATE.search(value):
        raise ValueError(f"{name} must not contain lone surrogates (U+D800..U+DFFF)")
    return value


@overload
def require_str(name: str, value: Any, allow_empty: bool = True, *, max_bytes: int | None = None,
                nullable: Literal[False] = False, strip: bool = False) -> str: ...
@overload
def require_str(name: str, value: Any, allow_empty: bool = True, *, max_bytes: int | None = None,
                nullable: bool, strip: bool = False) -> str | None: ...
def require_str(name: str, value: Any, allow_empty: bool = True, *, max_bytes: int | None = None,
                nullable: bool = False, strip: bool = False) -> str | None:
    """A string without NUL characters or lone surrogates, of at most ``max_bytes`` in UTF-8;
    ``strip`` removes surrounding white space first (the stored value), ``nullable`` lets None through."""
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    if strip:
        value = value.strip()
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")
    if "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")
    check_text(name, value)
    if max_bytes is not None and len(value) * 4 > max_bytes:  # cheap test first: <= 4 bytes a char
        n = len(value.encode("utf-8", "surrogatepass"))
        if n > max_bytes:
            raise ValueError(f"{name} must be at most {max_bytes} bytes in UTF-8, got {n}")
    return value


def require_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """One of ``choices`` (an enum column such as a status)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def require_str_list(name: str, value: Any) -> list[str]:
    """A list (or tuple) of strings, each checked as :func:`require_str`."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of strings, got {type(value).__name__}")
    for item in value:
        require_str(f"{name} item", item)
    return list(value)


# -- numbers --------------------------------------------------------------------------------------

def require_flag(name: str, value: Any) -> int:
    """A yes/no column stored as the legacy 0/1: True, False, 1 or 0 (``enabled=5`` is refused
    everywhere, rather than read as true by one domain and refused by another)."""
    if type(value) in (bool, int) and value in (0, 1):
        return int(value)
    raise ValueError(f"{name} must be True or False (or 1 or 0), got {value!r}")


@overload
def require_int(name: str, value: Any, minimum: int | None = None, nullable: Literal[False] = False,
                bits: int = 32) -> int: ...
@overload
def require_int(name: str, value: Any, minimum: int | None = None, *, nullable: bool,
                bits: int = 32) -> int | None: ...
def require_int(name: str, value: Any, minimum: int | None = None, nullable: bool = False,
                bits: int = 32) -> int | None:
    """An int (not a bool) that fits the column: the legacy INTEGER columns are 32-bit on
    PostgreSQL, so that is the default range on every engine (``bits=64`` for BIGINT columns)."""
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError(f"{name} must fit in {bits} bits, got {value}")
    return value


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        return None
    return number if math.isfinite(number) else None


@overload
def require_number(name: str, value: Any, nullable: Literal[False] = False) -> float: ...
@overload
def require_number(name: str, value: Any, nullable: bool) -> float | None: ...
def require_number(name: str, value: Any, nullable: bool = False) -> float | None:
    """A finite number (int or float, not bool) for a REAL column: NaN would be stored as NULL by
    SQLite and as 'NaN' by PostgreSQL, and never compare equal."""
    if value is None and nullable:
        return None
    number = _finite(value)
    if number is None:
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


@overload
def require_amount(name: str, value: Any, nullable: Literal[False] = False) -> float: ...
@overload
def require_amount(name: str, value: Any, nullable: bool) -> float | None: ...
def require_amount(name: str, value: Any, nullable: bool = False) -> float | None:
    """A finite number >= 0 (int or float, not bool): a duration, a size, a response time."""
    if value is None and nullable:
        return None
    number = _finite(value)
    if number is None or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


# -- timestamps -----------------------------------------------------------------------------------

def time_in(name: str, amount: float, unit: str = "days") -> str:
    """The kernel timestamp ``amount`` ``unit`` (``days``, ``hours``, ``minutes``) from now, for an
    expiry; ``amount`` must be :func:`require_amount`, and a moment past the year 9999 is refused."""
    amount = require_amount(name, amount)
    try:
        return iso_in(**{unit: amount})
    except OverflowError:
        raise ValueError(f"{name} is too large: {amount:g} {unit} from now is past the year 9999") from None


def time_ago(name: str, amount: float, unit: str = "days") -> str:
    """The kernel timestamp ``amount`` ``unit`` ago, for a cutoff; before the year 1 it is ``''``,
    which sorts before every timestamp (so "older than that" matches nothing)."""
    amount = require_amount(name, amount)
    try:
        return iso_in(**{unit: -amount})
    except OverflowError:
        return ""


# -- structures -----------------------------------------------------------------------------------

def to_json(name: str, value: Any) -> str:
    """``value`` as strict JSON text: NaN and infinities are refused (``json.dumps`` writes them as
    ``NaN``/``Infinity``, which is not JSON and which other readers reject), as is anything not
    JSON-serialisable; the ValueError names the parameter."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"{name} must be JSON without NaN or Infinity: {exc}") from None
    except (TypeError, RecursionError) as exc:
        raise ValueError(f"{name} is not JSON-serialisable: {exc}") from None


def check_fields(allowed: Sequence[str], fields: Mapping[str, Any], what: str) -> None:
    """Unknown field names raise ValueError naming them (nothing is written)."""
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(unknown)} (allowed: {', '.join(allowed)})")


def clean_fields(what: str, checks: Mapping[str, Check], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The values to store for ``fields``, each through its declared check; an unknown name or a
    bad value raises ValueError before anything is written."""
    check_fields(tuple(checks), fields, what)
    return {name: checks[name](name, value) for name, value in fields.items()}
