"""The kernel's validation vocabulary (sublarr.core.validation): one rule and one wording per kind of value."""

from __future__ import annotations

import functools
import math
import re

import pytest
import sqlalchemy.exc

from sublarr.core import domain, validation
from sublarr.core.secrets import MASK, first_line, registry
from sublarr.core.timeutil import fmt, now_iso, parse
from sublarr.core.validation import (
    clean_fields,
    require_amount,
    require_choice,
    require_flag,
    require_int,
    require_number,
    require_str,
    require_str_list,
    time_ago,
    time_in,
)


@pytest.mark.parametrize("value, stored", [(True, 1), (False, 0), (1, 1), (0, 0)])
def test_a_flag_is_true_false_one_or_zero_stored_as_int(value, stored):
    assert require_flag("enabled", value) == stored and type(require_flag("enabled", value)) is int


@pytest.mark.parametrize("value", [5, -1, 2, "1", "true", None, 1.0, [1]])
def test_any_other_flag_is_refused_with_one_wording(value):
    with pytest.raises(ValueError, match=r"^enabled must be True or False \(or 1 or 0\), got "):
        require_flag("enabled", value)


def test_text_rules():
    assert require_str("name", "  a  ", strip=True) == "a"
    assert require_str("name", None, nullable=True) is None
    for value, message in [(None, "name must be a string, got NoneType"), ("a\x00b", "NUL"),
                           ("\ud800", "lone surrogates"), ("é" * 11, "at most 21 bytes in UTF-8, got 22")]:
        with pytest.raises(ValueError, match=message):
            require_str("name", value, max_bytes=21)
    with pytest.raises(ValueError, match="name must not be empty"):
        require_str("name", "   ", allow_empty=False, strip=True)  # empty once stripped


def test_integers_are_32_bit_unless_declared_wider():
    assert require_int("n", 2**31 - 1) == 2**31 - 1 and require_int("n", 2**40, bits=64) == 2**40
    assert require_int("n", None, nullable=True) is None
    for value, message in [(2**31, "n must fit in 32 bits, got 2147483648"), (True, "n must be an integer"),
                           (1.5, "n must be an integer"), (-1, "n must be >= 0")]:
        with pytest.raises(ValueError, match=message):
            require_int("n", value, minimum=0)


def test_amounts_are_finite_and_not_negative():
    assert require_amount("ttl", 3) == 3.0 and require_amount("ttl", None, nullable=True) is None
    for value in (-0.5, math.nan, math.inf, True, "1", None):
        with pytest.raises(ValueError, match=r"^ttl must be a finite number >= 0, got "):
            require_amount("ttl", value)


def test_numbers_are_finite_ints_or_floats():
    assert require_number("mtime", -2) == -2.0 and require_number("mtime", None, nullable=True) is None
    for value in (math.nan, -math.inf, 10**400, True, "1", None):  # 10**400: beyond the float range
        with pytest.raises(ValueError, match=r"^mtime must be a finite number, got "):
            require_number("mtime", value)
    with pytest.raises(ValueError, match=r"^ttl must be a finite number >= 0, got "):
        require_amount("ttl", 10**400)


def test_choices_and_lists():
    assert require_choice("status", "found", ("wanted", "found")) == "found"
    with pytest.raises(ValueError, match="^status must be one of wanted, found, got 'lost'$"):
        require_choice("status", "lost", ("wanted", "found"))
    with pytest.raises(ValueError, match="status must be one of"):
        require_choice("status", ["found"], ("wanted", "found"))  # unhashable: the same refusal
    assert require_str_list("langs", ("de", "en")) == ["de", "en"]
    with pytest.raises(ValueError, match="langs must be a list of strings, got str"):
        require_str_list("langs", "de")
    with pytest.raises(ValueError, match="langs item must be a string, got int"):
        require_str_list("langs", ["de", 3])


def test_times_from_now_and_ago():
    before = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", before) and fmt(parse(before)) == before
    assert time_in("ttl_days", 1) > before > time_ago("days", 1)
    assert time_in("ttl_hours", 0, "hours") >= before
    assert time_ago("days", 10**9) == ""  # before the year 1: earlier than every timestamp
    with pytest.raises(ValueError, match="ttl_days is too large"):
        time_in("ttl_days", 10**9)
    with pytest.raises(ValueError, match="days must be a finite number >= 0"):
        time_ago("days", -1)


def test_a_fields_rules_are_declared_once_and_applied_to_every_call():
    rules = {"path": functools.partial(require_str, allow_empty=False), "enabled": require_flag}
    assert clean_fields("folder", rules, {"enabled": True}) == {"enabled": 1}
    with pytest.raises(ValueError, match=r"unknown folder field\(s\): size \(allowed: path, enabled\)"):
        clean_fields("folder", rules, {"path": "/a", "size": 1})
    with pytest.raises(ValueError, match="path must not be empty"):
        clean_fields("folder", rules, {"path": ""})


def test_repositories_written_before_the_vocabulary_still_import_it_from_domain():
    for name in ("require_str", "require_int", "check_fields", "to_json", "MAX_INDEXED_BYTES"):
        assert getattr(domain, name) is getattr(validation, name)


def test_first_line_of_an_error_prefers_the_drivers_message_and_hides_secrets():
    registry.add(["first-line-test-secret"])  # process-wide; a value no other test uses
    wrapped = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("password first-line-test-secret refused\n2"))
    assert first_line(wrapped) == f"password {MASK} refused"
    assert first_line(ValueError("")) == "ValueError"


class _Text(str):
    pass


def test_the_argument_guard_checks_subclasses_and_containers_as_it_checks_plain_values():
    """The guard's fast path (exact str/int/bool/float/None) and its general path refuse alike."""
    class Repo(domain.Repository):
        domain = "guard"

        def take(self, *values, **named):
            return values, named

    repo = object.__new__(Repo)
    assert repo.take("é", 2 ** 63 - 1, True, 1.5, None, key="plain") == (("é", 2 ** 63 - 1, True, 1.5, None),
                                                                          {"key": "plain"})
    for bad in ("a\ud800", _Text("a\ud800"), ["ok", "\ud800"], {"k": "\udfff"}, ("x", 2 ** 63)):
        with pytest.raises(ValueError, match=r"argument 2|lone surrogates|64 bits"):
            repo.take("fine", bad)
    with pytest.raises(ValueError, match="key must fit in 64 bits"):
        repo.take(key=-(2 ** 63) - 1)
    with pytest.raises(ValueError, match="key must not contain lone surrogates"):
        repo.take(key=_Text("\ud800"))
