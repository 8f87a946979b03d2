"""The initial population: the problem's seed and, unless switched off, every baseline it ships.

Starting from the baselines puts the frontier at the best human heuristic from iteration 0, so every later
program is measured against the state of the art (docs/search.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from evaluators.evaluator import EvaluationResult
from evolve import code_blocks
from evolve.archive.store import NewProgram
from problems.base import Problem

INITIAL = ("seed", "baseline")  # the mutator names of the initial population


class SeedFailed(RuntimeError):
    """The problem's initial program does not pass its own cascade."""


def starters(problem: Problem, with_baselines: bool) -> list[tuple[str, str, str]]:
    """(mutator, note, code) of the seed and, ``with_baselines``, of each baseline in the problem's order."""
    found = [("seed", "initial program", problem.seed_program())]
    if with_baselines:
        found += [("baseline", f"baseline {path.stem}", path) for path in problem.baselines()]
    return [(mutator, note, path.read_text()) for mutator, note, path in found]


def initial_programs(
    starting: Sequence[tuple[str, str, str]], histories: Sequence[list[EvaluationResult]]
) -> tuple[list[NewProgram], list[str]]:
    """The programs to store at iteration 0 (each code once) and a warning per failed baseline.

    Raises:
        SeedFailed: when the seed (the first starter) did not pass the whole cascade.
    """
    seed = histories[0]
    if not all(r.ok for r in seed) or "train" not in {r.split for r in seed}:
        raise SeedFailed(f"the seed program fails on {seed[-1].split}: {seed[-1].feedback}")
    programs, warnings, seen = [], [], set()
    for (mutator, note, code), history in zip(starting, histories):
        digest = code_blocks.normalized_hash(code)
        if digest not in seen:
            seen.add(digest)
            programs.append(NewProgram(code, digest, (), 0, 0, mutator, note, history))
        if not all(r.ok for r in history):
            warnings.append(f"{note} fails on {history[-1].split} and is left out of selection: {history[-1].feedback}")
    return programs, warnings
