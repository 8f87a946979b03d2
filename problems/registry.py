"""Finds problem packages: each folder of ``problems/`` holding a ``problem.toml`` is one problem."""

from __future__ import annotations

import importlib
from pathlib import Path

from problems.base import Problem, ProblemError, ProblemSpec

_PROBLEMS_DIR = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the problems shipped with adrs, sorted."""
    return sorted(p.parent.name for p in _PROBLEMS_DIR.glob("*/problem.toml"))


def load(name: str) -> Problem:
    """The problem called ``name``; its package's ``problem.py`` defines ``make(spec) -> Problem``."""
    toml = _PROBLEMS_DIR / name / "problem.toml"
    if not name.isidentifier() or not toml.is_file():
        raise ProblemError(f"unknown problem {name!r}; available: {', '.join(available()) or 'none'}")
    spec = ProblemSpec.from_toml(toml)
    module = importlib.import_module(f"problems.{name}.problem")
    return module.make(spec)
