"""No copied logic in ``sublarr/`` (issue 17, item 6): what two places do alike belongs in one shared
helper (engine-neutral ones in ``sublarr/drivers/base.py``, domain ones in ``sublarr/core/domain.py``
and ``sublarr/core/validation.py``, a domain's own in its package).

The copy-paste detector is here, small and self-contained, so CI runs it without other tools:

- It reads the bodies of functions and methods (logic, not declarations: table models, settings and
  hookimpl lists are declared, not copied) in every ``.py`` file below ``sublarr/`` except Alembic
  revision files (``migrations/``, ``versions/``, ``revisions/`` folders: a revision is frozen on
  purpose and repeats the schema's shape).
- Docstrings, comments, imports, blank lines and lines of lone brackets do not count.
- Each line becomes its tokens with every string and number literal as one placeholder; a run of
  ``MIN_LINES`` consecutive lines is the same as another when they are equal after renaming
  identifiers consistently (the first name of the run is 0, the next new one 1, ...). So a copy whose
  variables, tables and messages were renamed is still found, while two lines of merely the same
  outline (``a = f(b)`` and ``c = g(d, d)``) are not alike.

``MIN_LINES = 6`` is the threshold of the team's ``duplicates`` tool. At 6 the detector found the
copies this issue removed (clearing one or all rows in cache and scoring, the dump-file handling
and the pool options of the MariaDB and PostgreSQL drivers, the RQ job look-ups, the hook CLI's two
delete commands, the standalone media checks, the translation "update what is given" stamp); the
clean tree's longest shared run is 5 lines (sibling one-liners such as ``get_hook``/``get_webhook``).
"""

from __future__ import annotations

import ast
import io
import keyword
import shutil
import textwrap
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sublarr

ROOT = Path(sublarr.__file__).parent
MIN_LINES = 6
REVISION_FOLDERS = frozenset({"migrations", "versions", "revisions"})
_PUNCTUATION = frozenset("()[]{},:")
_SKIPPED_TOKENS = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                             tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING})
# Python 3.12 splits f-strings into parts; the whole f-string is one literal.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_PARTS = frozenset(t for t in (getattr(tokenize, "FSTRING_MIDDLE", None), getattr(tokenize, "FSTRING_END", None))
                           if t is not None)


@dataclass(frozen=True)
class Copy:
    """Two places sharing ``lines`` consecutive lines (after the normalisation above)."""

    first: str  # path:function:line
    second: str
    lines: int

    def __str__(self) -> str:
        return f"{self.first} ~ {self.second} ({self.lines} lines)"


def _not_counted(tree: ast.Module) -> set[int]:
    """Line numbers of imports and docstrings."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            lines.update(range(node.lineno, node.end_lineno + 1))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def _outer_functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions and methods that are not inside another function (a nested one is part of its outer body)."""
    found = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(child)
        else:
            found.extend(_outer_functions(child))
    return found


def _token_lines(source: str, skip: set[int]) -> dict[int, list]:
    """Line number -> its tokens: keywords and operators as they are, identifiers as ``("name", id)``,
    literals as ``"S"``/``"0"``."""
    lines: dict[int, list] = defaultdict(list)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _SKIPPED_TOKENS or token.type in _FSTRING_PARTS or token.start[0] in skip:
            continue
        if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
            value: object = ("name", token.string)
        elif token.type == tokenize.STRING or token.type == _FSTRING_START:
            value = "S"
        elif token.type == tokenize.NUMBER:
            value = "0"
        else:
            value = token.string
        lines[token.start[0]].append(value)
    return lines


def function_bodies(path: Path, label: str) -> list[tuple[str, list[tuple[int, list]]]]:
    """``[(label:function:line, [(line number, tokens), ...]), ...]`` of the counted lines of each
    outer function of ``path``."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    tokens = _token_lines(source, _not_counted(tree))
    bodies = []
    for function in _outer_functions(tree):
        counted = []
        for number in range(function.lineno, function.end_lineno + 1):
            line = tokens.get(number)
            if line and not all(isinstance(t, str) and t in _PUNCTUATION for t in line):
                counted.append((number, line))
        bodies.append((f"{label}:{function.name}:{function.lineno}", counted))
    return bodies


def _canonical(run: list[list]) -> tuple:
    """The run with its identifiers numbered by first appearance (a consistent renaming)."""
    names: dict[str, int] = {}
    return tuple(tuple(names.setdefault(t[1], len(names)) if isinstance(t, tuple) else t for t in line)
                 for line in run)


def source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if not REVISION_FOLDERS & set(p.relative_to(root).parts[:-1]))


def find_copies(root: Path, min_lines: int = MIN_LINES) -> list[Copy]:
    """Every pair of places below ``root`` sharing a run of ``min_lines`` or more lines, longest first."""
    places: dict[tuple, list[tuple[str, int]]] = defaultdict(list)
    for path in source_files(root):
        for where, body in function_bodies(path, path.relative_to(root).as_posix()):
            for start in range(len(body) - min_lines + 1):
                run = [line for _, line in body[start:start + min_lines]]
                places[_canonical(run)].append((where, start))
    shared: dict[tuple[str, str], set[int]] = defaultdict(set)  # pair -> run starts in the first place
    for found in places.values():
        for i, (first, first_start) in enumerate(found):
            for second, second_start in found[i + 1:]:
                if first == second and abs(first_start - second_start) < min_lines:
                    continue  # a run overlapping itself (a repeated line), not a second place
                shared[(first, second)].add(first_start)
    copies = []
    for (first, second), starts in shared.items():
        longest = run = 0
        previous = None
        for start in sorted(starts):  # consecutive windows make one longer run
            run = run + 1 if previous is not None and start == previous + 1 else 1
            longest = max(longest, run)
            previous = start
        copies.append(Copy(first, second, longest + min_lines - 1))
    return sorted(copies, key=lambda c: (-c.lines, c.first, c.second))


# -- the repository's code ------------------------------------------------------------------------

def test_sublarr_has_no_copied_logic():
    copies = find_copies(ROOT)
    assert not copies, (
        f"{len(copies)} copies of {MIN_LINES}+ lines in sublarr/ (move the shared logic into one helper):\n"
        + "\n".join(str(c) for c in copies))


def test_revision_files_are_left_out_and_the_rest_is_read():
    files = {p.relative_to(ROOT).as_posix() for p in source_files(ROOT)}
    assert "drivers/base.py" in files and "plugins/wanted/repository.py" in files
    assert not [f for f in files if "/migrations/" in f]
    assert len(files) > 50


# -- the detector finds what it must, and only that ------------------------------------------------

_ORIGINAL = '''
def clear_cache(self, file_path=None):
    """Delete one entry or all."""
    if file_path is not None:
        require_str("file_path", file_path)
    statement = delete(ffprobe)
    if file_path:
        statement = statement.where(ffprobe.c.file_path == file_path)
    with self.write() as conn:
        conn.execute(statement)
'''

# The same logic, renamed, with other messages, another docstring and comments.
_RENAMED_COPY = '''
def reset_weights(self, score_type=None):
    """Reset the overrides."""
    # legacy truthiness check
    if score_type is not None:
        require_str("score type", score_type)

    statement = delete(weights)
    if score_type:  # all when empty
        statement = statement.where(weights.c.score_type == score_type)
    with self.write() as conn:
        conn.execute(statement)
'''


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def test_detector_finds_a_renamed_copy_in_another_file(tmp_path):
    root = _tree(tmp_path, {"cache.py": _ORIGINAL, "scoring.py": "x = 1\n" + _RENAMED_COPY})
    assert find_copies(root) == [Copy("cache.py:clear_cache:2", "scoring.py:reset_weights:3", 8)]


def test_detector_finds_a_copy_inside_one_file_and_inside_methods(tmp_path):
    methods = textwrap.indent(_ORIGINAL + _RENAMED_COPY, "    ")
    root = _tree(tmp_path, {"repo.py": "class Repo:\n" + methods})
    assert [(c.first, c.second, c.lines) for c in find_copies(root)] == [
        ("repo.py:clear_cache:3", "repo.py:reset_weights:13", 8)]


def test_detector_passes_over_short_runs_other_logic_and_revision_files(tmp_path):
    # The first 5 counted lines of the 8, then other logic.
    short = "\n".join(_ORIGINAL.splitlines()[:7]) + "\n        return None\n"
    # The same outline, but one name used where the original has two different ones: other logic.
    other = _ORIGINAL.replace("clear_cache", "other").replace("statement.where(ffprobe.c.file_path",
                                                              "statement.where(statement.c.file_path")
    root = _tree(tmp_path, {"a.py": _ORIGINAL, "b.py": short, "c.py": other,
                            "plugins/x/migrations/0001_baseline.py": _ORIGINAL})
    assert find_copies(root) == []


def test_detector_finds_a_copy_planted_in_the_real_tree(tmp_path):
    """The threshold is low enough for a real copy: the real tree, plus a renamed copy of a real
    helper pasted into another module, fails with exactly that pair."""
    tree = tmp_path / "sublarr"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns("__pycache__"))
    helper = textwrap.dedent(ast.get_source_segment(
        (ROOT / "core/domain.py").read_text(encoding="utf-8"),
        next(node for node in ast.walk(ast.parse((ROOT / "core/domain.py").read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef) and node.name == "_delete_all_or_matching")))
    pasted = helper.replace("_delete_all_or_matching", "_forget").replace("table", "tbl").replace("value", "key")
    target = tree / "plugins" / "scoring" / "repository.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n\n" + pasted, encoding="utf-8")
    copies = find_copies(tree)
    assert [(c.first.split(":")[:2], c.second.split(":")[:2]) for c in copies] == [
        (["core/domain.py", "_delete_all_or_matching"], ["plugins/scoring/repository.py", "_forget"])]
    assert copies[0].lines >= MIN_LINES
