"""The seam between the search loop and anything that proposes new programs."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from problems.base import Objective


@dataclass(frozen=True)
class Candidate:
    """A proposed program, not yet evaluated.

    Attributes:
        code: the full program text.
        mutator: name of the mutator that made it.
        parent_ids: archive ids of the programs it came from (first = main parent).
        note: one line saying what changed (shown in ``adrs show``).
        model: the LLM that wrote it, if any.
    """

    code: str
    mutator: str
    parent_ids: tuple[int, ...]
    note: str = ""
    model: str | None = None


@dataclass(frozen=True)
class ProgramView:
    """What a mutator may know of an archived program.

    Attributes:
        id: archive id.
        code: full program text.
        metrics: train metrics (objective name -> value); empty if it failed.
        groups: the same metrics per instance class on train (class -> metrics).
        feedback: the verifier's text for its last evaluation (a failure reason, or a summary).
    """

    id: int
    code: str
    metrics: dict[str, float]
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    feedback: str = ""


# Scores full program texts on the train split by the primary objective, oriented so that lower is better;
# None for a program that failed. Mutators use it to tune; it runs candidates only through the Evaluator.
ScoreFn = Callable[[Sequence[str]], list[float | None]]


@dataclass
class MutationContext:
    """Everything a mutator may use to propose children of one parent.

    Attributes:
        parent: the selected parent.
        inspirations: other good programs (from the global frontier), for crossover or prompting.
        objectives: the problem's objectives, primary first.
        rng: the run's seeded random source for this proposal; mutators draw all randomness from it.
        score: scores programs on train (see ``ScoreFn``).
        problem_description: the problem's paragraph, for prompts.
        choose_model: picks the model of an LLM proposal (the run's bandit as it was when the proposal was
            launched); None: models are drawn by weight.
    """

    parent: ProgramView
    inspirations: list[ProgramView]
    objectives: tuple[Objective, ...]
    rng: random.Random
    score: ScoreFn
    problem_description: str = ""
    choose_model: Callable[[random.Random], str] | None = None
    extras: dict[str, object] = field(default_factory=dict)


class Mutator(Protocol):
    """Proposes new programs from a parent. Returns an empty list when it has nothing to offer."""

    name: str

    def propose(self, context: MutationContext) -> list[Candidate]: ...
