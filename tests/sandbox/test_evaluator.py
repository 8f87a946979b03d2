"""The evaluator's side of the trust boundary: what comes back from the sandbox is decoded strictly, time is
the server's (plus a share of the program's load time), and an objective that is not a finite number is never
scored, so it never reaches selection."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pytest

from evaluators.evaluator import Evaluator
from evaluators.pool import Job
from evaluators.sandbox import InstanceOutcome, SandboxResult
from problems.base import Instance, InstanceRun, Objective, Problem, ProblemSpec, Verdict

CODE = "def answer(x):\n    return x\n"


class Echo(Problem):
    """Scores an output ``x`` as ``x`` (or ``score`` when given); time is the mean seconds per instance."""

    def __init__(self, score: float | None = None):
        spec = ProblemSpec("echo", "", (Objective("value", "min"), Objective("time", "min")), "answer", "r", "s", ())
        super().__init__(spec)
        self.score = score

    def instances(self, split: str) -> list[Instance]:
        return [Instance(f"{split}-{k}", "all", {"x": k}) for k in range(3)]

    def verify(self, instance: Instance, output: Any) -> Verdict:
        return Verdict(True, {"value": float(output)})

    def aggregate(self, runs: Sequence[InstanceRun]) -> dict[str, float]:
        value = self.score if self.score is not None else sum(r.verdict.values["value"] for r in runs)
        return {"value": value, "time": sum(r.seconds for r in runs) / len(runs)}


class CannedPool:
    """A pool that answers every job with the same sandbox result."""

    size = 1

    def __init__(self, result: SandboxResult):
        self.result = result

    def map(self, jobs: Sequence[Job]) -> list[SandboxResult]:
        return [self.result for _ in jobs]


def outcome(raw: bytes, seconds: float = 0.001) -> InstanceOutcome:
    return InstanceOutcome(raw, seconds)


def ok(outputs: list, load: float = 0.0) -> SandboxResult:
    return SandboxResult(
        "ok", outcomes=[outcome(json.dumps({"output": o}).encode()) for o in outputs], load_seconds=load
    )


def test_time_is_the_servers_plus_an_equal_share_of_the_load_time():
    result = Evaluator(Echo(), CannedPool(ok([1, 2, 3], load=0.3))).evaluate(CODE, "train")
    assert result.ok
    assert [r["seconds"] for r in result.per_instance] == pytest.approx([0.101, 0.101, 0.101])
    assert result.metrics["time"] == pytest.approx(0.101)
    assert "loading the program: 300.0 ms" in result.feedback


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"output": 1, "seconds": 0}', "expected only 'output' or 'error', got ['output', 'seconds']"),
        (b'{"seconds": 0}', "got ['seconds']"),
        (b'{"error": 5}', "got ['error']"),
        (b"[1, 2]", "got list"),
        (b'{"output": 1', "malformed reply from the candidate process (JSONDecodeError)"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed reply from the candidate process (RecursionError)"),
    ],
)
def test_a_reply_that_is_not_exactly_an_output_or_an_error_is_the_candidates_error(raw, reason):
    result = SandboxResult("ok", outcomes=[outcome(raw)] + [outcome(b'{"output": 1}')] * 2)
    evaluation = Evaluator(Echo(), CannedPool(result)).evaluate(CODE, "train")
    assert evaluation.status == "error"
    assert reason in evaluation.per_instance[0]["reason"]
    assert evaluation.metrics == {}


@pytest.mark.parametrize("score", [math.nan, math.inf, -math.inf])
def test_an_objective_that_is_not_a_finite_number_is_never_scored(score):
    """Never scored, so never selected: ``ProgramRecord.metrics`` is None for a failed evaluation."""
    evaluation = Evaluator(Echo(score), CannedPool(ok([1, 2, 3]))).evaluate(CODE, "train")
    assert evaluation.status == "error" and evaluation.metrics == {}
    assert f"objective value = {score!r} is not a finite number" in evaluation.feedback
