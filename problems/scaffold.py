"""Writes a new, working problem folder from the template in ``scaffold_template/`` (``adrs new-problem``).

The folder can live anywhere on disk: its parent is put on ``sys.path`` and the folder is imported as the
package ``name``, so the name must be an importable identifier that no installed module already uses. The
template is a complete 0/1 knapsack problem (instances, verifier, exact optimum, runner, seed, baseline,
tests) for the user to reshape into their own; ``docs/problems.md`` explains each file.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import shutil
from pathlib import Path
from string import Template

from problems.base import ProblemError

TEMPLATE_DIR = Path(__file__).resolve().parent / "scaffold_template"

# Template file -> path in the new folder (itself a template: ``$name`` is substituted). The templates are kept
# flat and end in ``.tmpl`` so that this repository neither imports them nor collects them as tests.
FILES = {
    "__init__.py.tmpl": "__init__.py",
    "problem.toml.tmpl": "problem.toml",
    "problem.py.tmpl": "problem.py",
    "runner.py.tmpl": "runner.py",
    "seed.py.tmpl": "seeds/seed.py",
    "ratio.py.tmpl": "seeds/ratio.py",
    "test_problem.py.tmpl": "test_$name.py",
    "README.md.tmpl": "README.md",
}

_NAME = re.compile(r"[a-z][a-z0-9_]*")


def write_problem(name: str, parent: Path) -> Path:
    """Create ``parent/name/`` from the template and return it.

    Raises:
        ProblemError: when ``name`` is not a lowercase Python identifier, is taken by an importable module, or
            ``parent/name`` already exists. Nothing existing is ever overwritten; on a failed write, the
            folder this call created is removed again.
    """
    check_name(name)
    target = Path(parent).expanduser().resolve() / name
    if target.exists() or target.is_symlink():
        raise ProblemError(f"{target} already exists; choose another name or --dir, nothing was written")
    texts = render(name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.mkdir()  # exclusive: if another process made it meanwhile, this fails rather than sharing it
    except FileExistsError:
        raise ProblemError(f"{target} already exists; choose another name or --dir, nothing was written") from None
    except OSError as exc:
        raise ProblemError(f"cannot create {target}: {exc.strerror or exc}") from None
    try:
        for relative, text in texts.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "x", encoding="utf-8") as out:  # "x": never replace a file
                out.write(text)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)  # only the folder made above, by this call
        raise ProblemError(f"cannot write the problem into {target}: {exc.strerror or exc}") from None
    return target


def check_name(name: str) -> None:
    """ProblemError unless ``name`` can be imported as a new top-level package.

    The problem is imported as ``name`` with its folder's parent on ``sys.path``; a name an installed module
    already has (``json``, ``numpy``, ``problems``) would import that module instead, or shadow it.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ProblemError(
            f"invalid problem name {name!r}: use a lowercase Python identifier (letters, digits, _), e.g. knapsack"
        )
    try:
        taken = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a broken or odd module of that name: still taken
        taken = True
    if taken:
        raise ProblemError(f"problem name {name!r} is taken by an importable module; choose another name")


def render(name: str) -> dict[str, str]:
    """The new folder's files as {relative path: text}, with ``$name`` and ``$class_name`` substituted."""
    values = {"name": name, "class_name": class_name(name)}
    rendered = {}
    for template, relative in FILES.items():
        text = (TEMPLATE_DIR / template).read_text(encoding="utf-8")
        rendered[Template(relative).substitute(values)] = Template(text).substitute(values)
    return rendered


def class_name(name: str) -> str:
    """The Problem subclass's name for ``name``: ``bin_packing`` -> ``BinPackingProblem``."""
    return "".join(part.capitalize() for part in name.split("_")) + "Problem"
