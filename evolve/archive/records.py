"""The archive's records: what a reader of the archive gets back (runs, programs, their evaluations) and what
the loop hands it to store (new programs, model calls), as frozen dataclasses with no database in them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evaluators.evaluator import EvaluationResult

# A program's stages in order (``evolve/search/cascade.py``): the static check, the cascade's splits (``screen``:
# a few train instances, in a run that screens), and the behaviour check; ``test`` is held out and no stage.
STAGES = ("static", "smoke", "screen", "train", "stress", "behaviour")


@dataclass(frozen=True)
class EvaluationRecord:
    split: str
    status: str
    metrics: dict[str, float]
    groups: dict[str, Any]
    per_instance: list[Any]
    feedback: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class ProgramRecord:
    id: int
    run_id: int
    code: str
    code_hash: str
    parent_ids: tuple[int, ...]
    island: int
    generation: int
    iteration: int
    mutator: str
    model: str | None
    note: str
    evaluations: dict[str, EvaluationRecord] = field(default_factory=dict)

    def metrics(self, split: str = "train") -> dict[str, float] | None:
        """Metrics on ``split`` when the program passed it, else None."""
        evaluation = self.evaluations.get(split)
        return evaluation.metrics if evaluation is not None and evaluation.ok else None

    @property
    def status(self) -> str:
        """The status of the last stage reached (``ok`` when it passed them all)."""
        for split in reversed(STAGES):
            if split in self.evaluations:
                return self.evaluations[split].status
        return "unevaluated"

    @property
    def selectable(self) -> bool:
        """Whether selection may use it: it passed train and every stage after it (the stress set, and the
        behaviour check that stops a child doing exactly what its parent does)."""
        if self.metrics("train") is None:
            return False
        return all(self.evaluations[s].ok for s in STAGES[STAGES.index("train") + 1 :] if s in self.evaluations)


@dataclass(frozen=True)
class RunRecord:
    id: int
    problem: str
    config: dict[str, Any]
    seed: int
    status: str
    iteration: int
    evaluations: int
    wall_seconds: float
    dollars: float = 0.0
    tokens: int = 0


@dataclass(frozen=True)
class ProgressRecord:
    """The run's cumulative counters after ``iteration`` was committed."""

    iteration: int
    evaluations: int
    wall_seconds: float
    dollars: float
    tokens: int


@dataclass(frozen=True)
class NewLLMCall:
    """One model call to store; ``child`` is the index, in the same commit, of the program it produced."""

    model: str
    request_hash: str
    messages: tuple[tuple[str, str], ...]
    temperature: float
    response: str
    status: str
    detail: str
    parent_id: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    dollars: float = 0.0
    latency_seconds: float = 0.0
    attempts: int = 1
    cached: bool = False
    child: int | None = None


@dataclass(frozen=True)
class NewProgram:
    """A program to store with its evaluations in one transaction."""

    code: str
    code_hash: str
    parent_ids: tuple[int, ...]
    island: int
    generation: int
    mutator: str
    note: str
    evaluations: list[EvaluationResult]
    model: str | None = None
