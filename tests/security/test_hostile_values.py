"""Hostile values reach no database driver (issue 15 item 10).

Before: ``limit``/``offset`` of 2**70 raised ``OverflowError`` (SQLite) or ``DataError`` (PostgreSQL);
a glossary search over 50,000 bytes raised SQLite's "LIKE or GLOB pattern too complex"; a lone
surrogate in a string parameter failed in the driver with a codec error naming no field; NaN in a
JSON payload was stored as ``NaN`` (not JSON). Now each is a ``ValueError`` naming the parameter,
raised before any statement runs (counted with a real ``before_cursor_execute`` listener), on
SQLite and PostgreSQL.

Every public method of every built-in domain repository is tried, once per ``str`` parameter (a
lone surrogate) and once per ``int`` parameter (2**70), with plain values for the other parameters.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from sublarr.core.domain import Repository
from tests.security.test_domain_hostile_input import pkernel  # noqa: F401  (module-scoped kernel per dialect)

DOMAINS = ("config", "blacklist", "cache", "plugin_config", "scoring", "library", "whisper", "translation",
           "jobs", "wanted", "profiles", "providers", "hooks", "standalone")
SURROGATE = "a\ud800b"
HUGE = 2 ** 70


def _repositories() -> dict[str, type[Repository]]:
    found = {}
    for domain in DOMAINS:
        module = importlib.import_module(f"sublarr.plugins.{domain}.repository")
        for _, member in inspect.getmembers(module, inspect.isclass):
            if issubclass(member, Repository) and member is not Repository and member.__module__ == module.__name__:
                found[domain] = member
    return found


def _sample(annotation: str):
    """A plain value for a parameter that is not under test."""
    text = str(annotation)
    if text.startswith("int"):
        return 1
    if text.startswith("float"):
        return 1.0
    if text.startswith("bool"):
        return True
    if text.startswith(("list", "Sequence", "Iterable")):
        return []
    if text.startswith(("dict", "Mapping")):
        return {}
    return "x"


def _cases() -> list:
    cases = []
    for domain, repository in sorted(_repositories().items()):
        for name, method in inspect.getmembers(repository, inspect.isfunction):
            if name.startswith("_") or name in Repository.__dict__:
                continue
            params = [p for p in inspect.signature(method).parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            for target in params:
                kind = str(target.annotation).split(" ")[0].split("[")[0]
                if kind not in ("str", "int"):
                    continue
                value = SURROGATE if kind == "str" else HUGE
                cases.append(pytest.param(domain, name, target.name, value, {
                    p.name: _sample(p.annotation) for p in params if p.default is p.empty and p is not target},
                    id=f"{domain}.{name}({target.name}={'surrogate' if kind == 'str' else '2**70'})"))
    return cases


CASES = _cases()


@contextmanager
def statements(kernel):
    """Every statement the kernel's engine sends while the block runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(kernel.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(kernel.engine, "before_cursor_execute", record)


def refused_before_any_statement(kernel, call: Callable[[], object], parameter: str) -> str:
    with statements(kernel) as sent, pytest.raises(ValueError) as caught:
        call()
    assert parameter in str(caught.value), str(caught.value)
    assert sent == [], f"statements ran before the ValueError: {sent[:3]}"
    return str(caught.value)


def test_every_domain_is_covered():
    assert len(_repositories()) == len(DOMAINS)
    assert len({case.values[0] for case in CASES}) >= len(DOMAINS) - 1
    assert len(CASES) > 150


@pytest.mark.parametrize(("domain", "method", "parameter", "value", "others"), CASES)
def test_hostile_argument_is_a_value_error_naming_it(pkernel, domain, method, parameter, value, others):  # noqa: F811
    function = getattr(pkernel.repo(domain), method)
    refused_before_any_statement(pkernel, lambda: function(**{**others, parameter: value}), parameter)


@pytest.mark.parametrize(("domain", "method", "kwargs", "parameter"), [
    ("hooks", "get_hook_logs", {"limit": HUGE}, "limit"),
    ("hooks", "get_hook_logs", {"offset": HUGE}, "offset"),
    ("hooks", "get_hook_logs", {"limit": 2 ** 63}, "limit"),  # one past int64
    ("jobs", "get_recent_jobs", {"limit": HUGE}, "limit"),
    ("jobs", "get_outdated_jobs", {"current_hash": "h", "limit": HUGE}, "limit"),
    ("library", "get_upgrade_history", {"limit": HUGE}, "limit"),
    ("whisper", "get_whisper_jobs", {"limit": HUGE}, "limit"),
    ("jobs", "get_jobs", {"page": 2 ** 62, "per_page": 2 ** 62}, "page"),  # each fits; the offset does not
    ("jobs", "get_jobs", {"per_page": 2 ** 63}, "per_page"),
    ("translation", "search_glossary_terms", {"series_id": 1, "query": "q" * 50_001}, "query"),
    ("translation", "search_glossary_terms", {"series_id": 1, "query": "%" * 25_000}, "query"),  # escaping doubles
    ("jobs", "create_job", {"file_path": "/m/x.mkv", "arr_context": {"score": float("nan")}}, "arr_context"),
    ("jobs", "create_job", {"file_path": "/m/x.mkv", "arr_context": {"a": [float("inf")]}}, "arr_context"),
    ("cache", "set_ffprobe_cache", {"file_path": "/m/x.mkv", "mtime": 1.0, "probe_data": {"d": float("nan")}},
     "probe_data"),
    ("wanted", "upsert_wanted_item", {"item_type": "episode", "file_path": "/m/\udc80.mkv"}, "file_path"),
])
def test_named_hostile_values(pkernel, domain, method, kwargs, parameter):  # noqa: F811
    function = getattr(pkernel.repo(domain), method)
    refused_before_any_statement(pkernel, lambda: function(**kwargs), parameter)


def test_the_same_calls_with_sane_values_still_work(pkernel):  # noqa: F811
    assert pkernel.repo("hooks").get_hook_logs(limit=2 ** 63 - 1, offset=0) == []
    assert pkernel.repo("jobs").get_recent_jobs(limit=2 ** 63 - 1) is not None
    assert pkernel.repo("translation").search_glossary_terms(1, "q" * 49_998) == []
    job = pkernel.repo("jobs").create_job("/m/ok.mkv", arr_context={"score": 1.5})
    assert pkernel.repo("jobs").get_job(job["id"])["arr_context"] == {"score": 1.5}
