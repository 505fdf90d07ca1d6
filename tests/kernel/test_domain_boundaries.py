"""Domain boundaries: the kernel names no domain, and each domain owns its events, its maintenance
and the legacy tables it adopts (issue 17, item 2).

``sublarr/core/`` must work with any set of domains, so it may not name one: no import of a domain
package, no domain or table name as a string. The built-in domains are listed in ``sublarr/plugins``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import sublarr
from sublarr.core.configuration import Configuration
from sublarr.core.plugins import BUILTIN, LOADED
from tests.data.legacy import LEGACY_TABLES

ROOT = Path(sublarr.__file__).parent

# Words that are the kernel's own vocabulary as well as a domain's name: "cache" is a driver kind
# (storage, cache, queue) and "hooks" the hook names of a plugin in ``sublarr plugins``.
KERNEL_WORDS = {"cache", "hooks"}


@pytest.fixture(scope="module")
def configuration() -> Configuration:
    return Configuration(entry_points=False)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _names_a_domain(path: Path, domains: set[str], tables: set[str]) -> list[str]:
    """Imports of a domain package (``sublarr.plugins.<name>``) and strings, docstrings aside, that are a
    domain's name or a table's, or name a domain module (``importlib.import_module("sublarr.plugins.x")``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    where = path.relative_to(ROOT)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            modules = []
        for module in modules:
            if re.match(r"sublarr\.plugins\.\w+", module) and module.split(".")[2] in domains:
                found.append(f"{where}:{node.lineno}: imports {module}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            if text in tables or (text in domains and text not in KERNEL_WORDS):
                found.append(f"{where}:{node.lineno}: names {text!r}")
            elif re.search(r"sublarr\.plugins\.\w", text):
                found.append(f"{where}:{node.lineno}: names module {text!r}")
    return found


def test_core_names_no_domain(configuration: Configuration) -> None:
    domains = set(configuration.domains)
    tables = {t.name for d in configuration.domains.values() for t in d.tables}
    assert len(domains) == 14 and len(tables) == 28
    sources = sorted((ROOT / "core").rglob("*.py"))
    assert len(sources) > 10
    assert [hit for path in sources for hit in _names_a_domain(path, domains, tables)] == []


def test_the_core_checker_finds_what_it_looks_for(tmp_path: Path) -> None:
    global ROOT
    sample = tmp_path / "x.py"
    sample.write_text('"""wanted_items in a docstring is prose."""\n'
                      "from sublarr.plugins.wanted.models import WantedItem\n"
                      "import sublarr.plugins.jobs\n"
                      "from sublarr.plugins import wanted\n"
                      "from sublarr.plugins import BUILTIN_PLUGINS\n"
                      "TASKS = (('providers', 'cleanup'),)\n"
                      "LEGACY = {'wanted_items'}\n"
                      "KIND = 'cache'\n"
                      "module = 'sublarr.plugins.whisper'\n")
    saved, ROOT = ROOT, tmp_path
    try:
        hits = _names_a_domain(sample, {"wanted", "jobs", "providers", "whisper", "cache"}, {"wanted_items"})
    finally:
        ROOT = saved
    assert sorted(h.split(": ", 1)[1] for h in hits) == sorted([
        "imports sublarr.plugins.wanted.models", "imports sublarr.plugins.wanted.models.WantedItem",
        "imports sublarr.plugins.jobs", "imports sublarr.plugins.wanted", "names 'providers'",
        "names 'wanted_items'", "names module 'sublarr.plugins.whisper'"])


def test_each_domain_declares_the_legacy_tables_it_adopts(configuration: Configuration) -> None:
    declared: dict[str, str] = {}
    for name, domain in configuration.domains.items():
        assert set(domain.legacy_tables) <= {t.name for t in domain.tables}, name  # its baseline creates them
        for table in domain.legacy_tables:
            assert table not in declared, f"{table} is adopted by {declared[table]} and {name}"
            declared[table] = name
    assert sorted(declared) == sorted(LEGACY_TABLES)  # the 28 tables of the legacy schema, each adopted once


def test_the_legacy_tables_of_a_disabled_domain_still_count(tmp_path: Path) -> None:
    """Adoption refuses a legacy file whose tables' domain is switched off (tests/data/test_adopt.py);
    it learns those tables from the disabled plugin's own declaration."""
    from sublarr import Kernel
    from sublarr.core.adopt import legacy_tables

    kernel = Kernel.boot(database_url=f"sqlite:///{tmp_path / 'x.db'}", plugins_disabled=["providers"],
                         load_plugins=[])
    try:
        assert "providers" not in kernel.domains and "cache" not in kernel.domains  # cache requires providers
        declared = legacy_tables(kernel)
    finally:
        kernel.close()
    assert declared["subtitle_downloads"] == "providers" and declared["ffprobe_cache"] == "cache"
    assert sorted(declared) == sorted(LEGACY_TABLES)


def test_every_builtin_event_belongs_to_the_plugin_that_declares_it(configuration: Configuration) -> None:
    catalog = configuration.events
    owners = {e.plugin for e in catalog.values()}
    builtin = {i.name for i in configuration.plugins if i.source == BUILTIN and i.status == LOADED}
    assert owners <= builtin
    assert not owners & {"sqlite", "postgresql", "mariadb", "memory-cache", "redis-cache", "memory-queue",
                         "rq-queue"}
    assert catalog["subtitle_downloaded"].plugin == "providers"
    assert catalog["wanted_scan_complete"].plugin == "wanted"
    assert catalog["config_updated"].plugin == "config"


def test_a_disabled_domain_takes_its_events_and_maintenance_along() -> None:
    configuration = Configuration(entry_points=False, plugins_disabled=["whisper", "providers"])
    catalog = configuration.events
    assert "whisper_complete" not in catalog and "subtitle_downloaded" not in catalog
    # standalone requires cache, which requires providers: disabled down the line, events included
    assert "standalone_scan_complete" not in catalog
    assert "wanted_scan_complete" in catalog
    implementers = {configuration.plugins.pm.get_name(impl.plugin)
                    for impl in configuration.plugins.pm.hook.sublarr_maintenance.get_hookimpls()}
    assert not implementers & {"providers", "standalone"}

