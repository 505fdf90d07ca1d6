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


# -- a domain reads another domain's data only through that domain's repository -------------------

def _crosses_a_boundary(path: Path, own: str, requires: set[str], domains: set[str],
                        foreign_tables: set[str]) -> list[str]:
    """In domain ``own``'s package: imports of another domain's package (its models, its tables, its
    repository module; an import under ``if TYPE_CHECKING:`` only names a type for mypy and is allowed), SQL text on another domain's table or a ``table("x")`` of it, and
    ``repo("other")`` calls on a domain that ``requires`` does not declare. (A table's name as a plain
    string is fine: ``get_cache_stats`` has a legacy ``"provider_cache"`` key.)"""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = _docstrings(tree)
    where = path.relative_to(ROOT)
    found = []
    type_only = {id(n) for block in ast.walk(tree)  # `if TYPE_CHECKING:` imports name a type, load nothing
                 if isinstance(block, ast.If) and isinstance(block.test, ast.Name) and block.test.id == "TYPE_CHECKING"
                 for stmt in block.body for n in ast.walk(stmt)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level >= 2 and node.module:  # from ..other.models import X
                other = node.module.split(".")[0]
                found.append(f"{where}:{node.lineno}: imports the {other} domain's {node.module}")
            elif node.level >= 2:  # from .. import other
                found += [f"{where}:{node.lineno}: imports the {a.name} domain" for a in node.names if a.name in domains]
            elif node.module:
                parts = node.module.split(".")
                if parts[:2] == ["sublarr", "plugins"]:
                    others = [parts[2]] if len(parts) > 2 else [a.name for a in node.names]
                    found += [f"{where}:{node.lineno}: imports the {o} domain" for o in others
                              if o in domains and o != own]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[:2] == ["sublarr", "plugins"] and len(parts) > 2 and parts[2] in domains - {own}:
                    found.append(f"{where}:{node.lineno}: imports the {parts[2]} domain")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            for table in foreign_tables:  # SQL text that reads or writes it
                if re.search(rf"\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+[\"`]?{table}\b", node.value, re.IGNORECASE):
                    found.append(f"{where}:{node.lineno}: SQL on another domain's table {table!r}")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("table", "Table") and node.args and isinstance(node.args[0], ast.Constant)
              and node.args[0].value in foreign_tables):  # sqlalchemy table("x", ...) / Table("x", ...)
            found.append(f"{where}:{node.lineno}: declares another domain's table {node.args[0].value!r}")
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "repo" and node.args
              and isinstance(node.args[0], ast.Constant)):
            other = node.args[0].value
            if other != own and other not in requires:
                found.append(f"{where}:{node.lineno}: reads the {other} domain, which `requires` does not declare")
    return found


def test_no_domain_reads_another_domains_tables(configuration: Configuration) -> None:
    domains = configuration.domains
    tables = {t.name: name for name, d in domains.items() for t in d.tables}
    found = []
    for name, domain in domains.items():
        package = ROOT / "plugins" / name
        assert package.is_dir(), name
        foreign = {t for t, owner in tables.items() if owner != name}
        for path in sorted(package.rglob("*.py")):
            found += _crosses_a_boundary(path, name, set(domain.requires), set(domains), foreign)
    assert found == []


def test_the_boundary_checker_finds_what_it_looks_for(tmp_path: Path) -> None:
    global ROOT
    sample = tmp_path / "x.py"
    sample.write_text('"""Reads wanted_items (prose)."""\n'
                      "from sublarr.plugins.wanted.models import WantedItem\n"
                      "from sublarr.plugins.config.repository import MAX_KEY_LENGTH\n"
                      "from sublarr.plugins.profiles.models import Mine\n"
                      "from sublarr.plugins import jobs\n"
                      "import sublarr.plugins.jobs.models\n"
                      "from ..wanted import models\n"
                      "from .. import jobs\n"
                      "from .models import Mine\n"
                      "text('SELECT count(*) FROM wanted_items')\n"
                      "text('UPDATE \"wanted_items\" SET x = 1')\n"
                      "w = sa.table('wanted_items', sa.column('id'))\n"
                      "stats = {'wanted_items': 1}\n"
                      "self.repo('jobs').get_job('x')\n"
                      "self.repo('config').get_config_entry('x')\n"
                      "self.repo('profiles').get_profiles()\n")
    saved, ROOT = ROOT, tmp_path
    try:
        hits = _crosses_a_boundary(sample, "profiles", {"config"}, {"wanted", "config", "jobs", "profiles"},
                                   {"wanted_items"})
    finally:
        ROOT = saved
    assert sorted(h.split(": ", 1)[1] for h in hits) == sorted([
        "imports the wanted domain", "imports the config domain", "imports the jobs domain",
        "imports the jobs domain", "imports the wanted domain's wanted", "imports the jobs domain",
        "SQL on another domain's table 'wanted_items'", "SQL on another domain's table 'wanted_items'",
        "declares another domain's table 'wanted_items'", "reads the jobs domain, which `requires` does not declare"])


def test_cross_domain_reads_share_one_snapshot(kernel) -> None:
    """A read through another domain's repository inside a read joins it (``Repository.read``)."""
    library, providers = kernel.repo("library"), kernel.repo("providers")
    with library.read() as outer, providers.read() as inner:
        assert inner is outer
    with library.read() as first:
        pass
    with providers.read() as second:
        assert second is not first
