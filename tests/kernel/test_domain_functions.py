"""Every package-level domain function is a real ``def`` (issue 17 item 3): in the source, with the
repository method's signature and docstring, kept in step with the repository by this test."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from sublarr.core import functions as generator
from sublarr.core.domain import Repository

BUILTIN = generator.builtin()
IDS = [domain.name for _package, domain in BUILTIN]


@pytest.mark.parametrize(("package", "domain"), BUILTIN, ids=IDS)
def test_the_checked_in_module_is_what_the_repository_generates(package, domain):
    path = generator.target(package)
    assert path.read_text() == generator.render(domain.name, domain.repository), (
        f"{path} is out of step with {domain.repository.__name__}: run `python -m sublarr.core.functions`")


@pytest.mark.parametrize(("package", "domain"), BUILTIN, ids=IDS)
def test_each_public_method_is_a_def_a_reader_can_find(package, domain):
    """A grep, an IDE and a type checker find ``def name(`` in the package's source, with the method's
    parameters; legacy names are one assignment each, in the one block at the module's end."""
    module = __import__(package, fromlist=["functions"])
    tree = ast.parse(generator.target(package).read_text())
    defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    aliases = {node.targets[0].id: node.value.id for node in tree.body
               if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name)}
    methods = generator.public_methods(domain.repository)
    assert methods, f"{domain.name} exports nothing"
    for name, method in methods:
        function = getattr(module, name)
        assert name in module.__all__
        if method.__name__ != name:  # a legacy alias: the same function object as its canonical name
            assert aliases[name] == method.__name__ and function is getattr(module, method.__name__)
            continue
        assert name in defs, f"{package}.{name} is not a def in functions.py"
        expected = inspect.signature(method)
        expected = expected.replace(parameters=list(expected.parameters.values())[1:])
        assert inspect.signature(function) == expected, name
        documented = inspect.getdoc(method) or f"See :meth:`{domain.repository.__name__}.{name}`."
        assert inspect.getdoc(function) == documented, name
    assert not set(defs) - {name for name, _ in methods} - {"_repo"}, "a function with no repository method"


def test_the_functions_act_on_the_active_kernel(kernel):
    from sublarr.plugins import config, wanted

    item_id = wanted.upsert_wanted_item(item_type="episode", file_path="/tv/Show/S01E01.mkv", title="Pilot")
    assert wanted.get_wanted_item(item_id)["title"] == "Pilot"
    assert wanted.get_wanted_item(item_id) == kernel.repo("wanted").get_wanted_item(item_id)
    config.save_config_entry("fn_key", "value")
    assert config.get_config_entry("fn_key") == "value"


def test_the_generator_refuses_what_it_cannot_write_out():
    class Odd(Repository):
        def method(self, when: object = object()) -> None:  # a default that is no literal
            """Odd."""

    with pytest.raises(ValueError, match="not a literal"):
        generator.render("odd", Odd)


def test_the_generator_finds_every_module_in_step(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sublarr.core.functions", "--check"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120, env={"PATH": "", "PYTHONPATH": str(Path(__file__).parents[2])})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
