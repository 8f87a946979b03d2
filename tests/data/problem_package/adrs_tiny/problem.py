"""The trusted half: seeded instances and a verifier that checks the index and computes the shortfall."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from problems.base import Instance, InstanceRun, Problem, ProblemSpec, Verdict

SEEDS = {"smoke": 10, "train": 20, "test": 30}


class TinyProblem(Problem):
    def instances(self, split: str) -> list[Instance]:
        rng = random.Random(SEEDS[split])
        return [Instance(f"{split}-{k}", "all", {"numbers": [rng.randint(0, 99) for _ in range(8)]}) for k in range(4)]

    def verify(self, instance: Instance, output: Any) -> Verdict:
        numbers = instance.data["numbers"]
        if type(output) is not int or not 0 <= output < len(numbers):
            return Verdict(False, reason=f"expected an index in 0..{len(numbers) - 1}")
        return Verdict(True, {"shortfall": float(max(numbers) - numbers[output])})

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        return {"shortfall": sum(run.verdict.values["shortfall"] for run in runs)}


def make(spec: ProblemSpec) -> TinyProblem:
    return TinyProblem(spec)
