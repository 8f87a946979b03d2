"""Finds problems wherever they live: shipped in ``problems/``, in a folder of the user's, or in a pip package.

A problem is a folder holding ``problem.toml`` and a package whose ``problem.py`` defines ``make(spec)``.
Three sources are searched, in this order, and a name found in two of them is an error rather than a guess:

- the folders given with ``--problems-dir`` (or ``problems_dir`` of a run's configuration): each subfolder
  with a ``problem.toml`` is one problem, imported as the package of its folder's name;
- installed packages that declare an entry point in the group ``adrs.problems`` (name: the problem, value:
  its package, e.g. ``knapsack = "adrs_knapsack"``);
- the problems shipped with adrs.

A problem from a folder or a package keeps its seed and baselines in its own folder (paths in problem.toml
are relative to it); a shipped one keeps them in the repository's ``seeds/``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from problems.base import Problem, ProblemError, ProblemSpec

ENTRY_POINT_GROUP = "adrs.problems"
_SHIPPED_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Source:
    """Where one problem was found.

    Attributes:
        name: the problem's name.
        folder: the folder holding its ``problem.toml``.
        package: the importable package of its code (``problems.tardiness``, ``knapsack``, ``adrs_knapsack``).
        origin: ``shipped``, ``folder`` or ``package``.
    """

    name: str
    folder: Path
    package: str
    origin: str

    def describe(self) -> str:
        """One line for a run's record and for error messages."""
        if self.origin == "shipped":
            return "shipped with adrs"
        if self.origin == "package":
            return f"installed package {self.package} (entry point {ENTRY_POINT_GROUP}:{self.name})"
        return f"folder {self.folder}"


def _shipped() -> dict[str, Source]:
    return {
        toml.parent.name: Source(toml.parent.name, toml.parent, f"problems.{toml.parent.name}", "shipped")
        for toml in sorted(_SHIPPED_DIR.glob("*/problem.toml"))
    }


def _in_folders(problems_dirs: Sequence[Path | str]) -> dict[str, Source]:
    found: dict[str, Source] = {}
    for given in problems_dirs:
        folder = Path(given).expanduser().resolve()
        if not folder.is_dir():
            raise ProblemError(f"problems folder {folder} does not exist")
        for toml in sorted(folder.glob("*/problem.toml")):
            _add(found, Source(toml.parent.name, toml.parent, toml.parent.name, "folder"))
    return found


def _installed() -> dict[str, Source]:
    found: dict[str, Source] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = importlib.util.find_spec(point.value)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise ProblemError(f"entry point {ENTRY_POINT_GROUP}:{point.name} names {point.value!r}, not a package")
        folder = Path(next(iter(spec.submodule_search_locations))).resolve()
        _add(found, Source(point.name, folder, point.value, "package"))
    return found


def _add(found: dict[str, Source], source: Source) -> None:
    if source.name in found and found[source.name].folder != source.folder:
        raise ProblemError(
            f"two problems are called {source.name!r}: {found[source.name].describe()} and {source.describe()}"
        )
    found[source.name] = source


def sources(problems_dirs: Sequence[Path | str] = ()) -> dict[str, Source]:
    """Every problem that can be loaded, by name."""
    found: dict[str, Source] = {}
    for group in (_in_folders(problems_dirs), _installed(), _shipped()):
        for source in group.values():
            _add(found, source)
    return dict(sorted(found.items()))


def available(problems_dirs: Sequence[Path | str] = ()) -> list[str]:
    """Names of the problems that can be loaded, sorted."""
    return list(sources(problems_dirs))


def find(name: str, problems_dirs: Sequence[Path | str] = ()) -> Source:
    """The problem called ``name``, or at the path ``name`` (a folder holding ``problem.toml``): a path has a
    ``/`` or starts with ``.`` or ``~``, so that a bare name never means a folder that happens to be here."""
    if "/" in name or name.startswith((".", "~")):
        folder = Path(name).expanduser().resolve()
        if not (folder / "problem.toml").is_file():
            raise ProblemError(f"{folder} holds no problem.toml")
        return Source(folder.name, folder, folder.name, "folder")
    found = sources(problems_dirs)
    if name not in found:
        hint = "; a problem of your own: --problems-dir DIR or its folder's path" if not problems_dirs else ""
        raise ProblemError(f"unknown problem {name!r}; available: {', '.join(found) or 'none'}{hint}")
    return found[name]


def load(name: str, problems_dirs: Sequence[Path | str] = ()) -> Problem:
    """The problem called ``name`` (or at the folder ``name``), searched as the module docstring says."""
    return load_source(find(name, problems_dirs))


def load_folder(folder: Path | str) -> Problem:
    """The problem in ``folder`` (which holds ``problem.toml``), wherever it lies."""
    return load_source(find(str(Path(folder).expanduser().resolve())))


def load_source(source: Source) -> Problem:
    """The problem ``source`` points at; its package is imported, its folder's parent first put on sys.path
    when it comes from a folder."""
    if not source.package.replace(".", "_").isidentifier():
        raise ProblemError(f"{source.folder}: the folder's name must be a Python identifier to be imported")
    if source.origin == "folder":
        _importable_from(source)
    spec = ProblemSpec.from_toml(source.folder / "problem.toml")
    if spec.name != source.name:
        raise ProblemError(f"{source.folder}/problem.toml names the problem {spec.name!r}, not {source.name!r}")
    if source.origin != "shipped":
        spec = spec.located(source.folder)
    try:
        module = importlib.import_module(f"{source.package}.problem")
    except ImportError as exc:
        raise ProblemError(f"cannot import the problem {source.name} ({source.describe()}): {exc}") from exc
    if not callable(getattr(module, "make", None)):
        raise ProblemError(f"{module.__file__} defines no make(spec) -> Problem")
    problem = module.make(spec)
    problem.source = source
    return problem


def _importable_from(source: Source) -> None:
    """Put the folder's parent on sys.path, refusing a name that another module already answers to."""
    loaded = sys.modules.get(source.package)
    if loaded is not None:
        where = getattr(loaded, "__file__", None) or next(iter(getattr(loaded, "__path__", [])), None)
    else:
        spec = importlib.util.find_spec(source.package)
        where = spec and (spec.origin or next(iter(spec.submodule_search_locations or []), None))
    if where and not Path(where).resolve().is_relative_to(source.folder):
        raise ProblemError(
            f"problem {source.name}: another module is already called {source.package!r} ({where}); "
            "rename the problem's folder"
        )
    if not where and str(source.folder.parent) not in sys.path:
        sys.path.append(str(source.folder.parent))
