"""Judges programs: static check, then the sandbox, then the problem's trusted verifier, split by split."""

from __future__ import annotations

import ast
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators import ast_guard
from evaluators.pool import Job, Pool
from evaluators.sandbox import SandboxResult
from problems.base import STRESS, Instance, InstanceRun, Problem, Verdict, is_finite_number

MAX_CODE_BYTES = 200_000
# The fields of a per-instance record that are not the verifier's values (``_judge`` writes them).
RECORD_FIELDS = frozenset({"id", "group", "feasible", "reason", "seconds", "output_digest"})


@dataclass(frozen=True)
class EvaluationResult:
    """A program's evaluation on one split.

    Attributes:
        split: ``static``, ``smoke``, ``train``, ``stress`` or ``test`` (or a problem's named extra split).
        status: ``ok``, or why it failed: ``invalid`` (static check), ``error`` (raised or did not load),
            ``timeout``, ``crashed`` or ``infeasible`` (the verifier rejected an output).
        metrics: objective values and extras (empty unless ok).
        groups: the same metrics per instance class.
        per_instance: one record per instance: id, group, feasible, reason, seconds (measured by the sandbox
            server around the call, plus an equal share of the time the program took to load), output_digest (a digest
            of the output as received: equal digests, equal behaviour) and verifier values.
        feedback: text for the researcher and for prompts: the reason of a failure, or a summary.
        seconds: wall time of this evaluation.
    """

    split: str
    status: str
    metrics: dict[str, float] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    per_instance: list[dict[str, Any]] = field(default_factory=list)
    feedback: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def static_check(code: str, entry_point: str) -> str | None:
    """Why the program cannot be run at all, or None. Runs no candidate code."""
    if len(code.encode()) > MAX_CODE_BYTES:
        return f"the program is larger than {MAX_CODE_BYTES} bytes"
    try:
        tree = ast_guard.parse(code)
    except SyntaxError as exc:
        return f"syntax error at line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        return f"the program cannot be parsed: {exc}"
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if entry_point not in defined:
        return f"the program must define a top-level function {entry_point}()"
    return None


class Evaluator:
    """Evaluates programs of one problem on its splits with a pool of sandboxes.

    The instances of each split are loaded once; references are computed (and cached) on first use by the
    problem's verifier, or up front by ``prepare``.
    """

    def __init__(self, problem: Problem, pool: Pool):
        self.problem = problem
        self.pool = pool
        self._instances: dict[str, list[Instance]] = {}

    def instances(self, split: str) -> list[Instance]:
        if split not in self._instances:
            stress = split == STRESS
            self._instances[split] = self.problem.stress_instances() if stress else self.problem.instances(split)
        return self._instances[split]

    def use_instances(self, split: str, instances: list[Instance]) -> None:
        """Evaluate ``split`` on the given instances instead of the problem's own (``adrs eval --instances``)."""
        self._instances[split] = instances

    def forget_instances(self, split: str) -> None:
        """Drop what ``use_instances`` gave ``split``."""
        self._instances.pop(split, None)

    def prepare(self, splits: Sequence[str]) -> None:
        """Compute every reference of these splits now, so that the first evaluations are not slowed down."""
        for split in splits:
            for instance in self.instances(split):
                self.problem.bound(instance)

    def metrics_of(self, records: Sequence[dict[str, Any]], split: str) -> dict[str, float] | None:
        """The metrics an evaluation gives when it runs only the instances of these per-instance records (records
        of a passed evaluation of ``split``, e.g. some of its instances); None when a record is infeasible or
        names an instance ``split`` no longer has. Computed from the stored trusted values, running nothing."""
        by_id = {instance.id: instance for instance in self.instances(split)}
        runs = []
        for record in records:
            instance = by_id.get(record.get("id"))
            if instance is None or not record.get("feasible"):
                return None
            values = {k: v for k, v in record.items() if k not in RECORD_FIELDS}
            runs.append(InstanceRun(instance, Verdict(True, values), record["seconds"]))
        return self.problem.aggregate(runs) if runs else None

    def evaluate_many(
        self, codes: Sequence[str], split: str, judged: Callable[[int, EvaluationResult], None] | None = None
    ) -> list[EvaluationResult]:
        """Each program on ``split``, in parallel; results in order. ``judged(index, result)`` is told of each
        program's result as soon as it is judged (a long benchmark's progress)."""
        results: list[EvaluationResult | None] = [None] * len(codes)
        runnable: list[int] = []
        for index, code in enumerate(codes):
            problem = static_check(code, self.problem.spec.entry_point)
            if problem:
                results[index] = EvaluationResult(split, "invalid", feedback=problem)
            else:
                runnable.append(index)
        instances = self.instances(split)
        jobs = [Job(codes[i], [inst.data for inst in instances]) for i in runnable]
        started = time.perf_counter()
        for index, outcome in zip(runnable, self.pool.map(jobs)):
            results[index] = self._judge(split, instances, outcome, time.perf_counter() - started)
            if judged is not None:
                judged(index, results[index])
        return results  # type: ignore[return-value]

    def evaluate(self, code: str, split: str) -> EvaluationResult:
        return self.evaluate_many([code], split)[0]

    def cascade_many(
        self, codes: Sequence[str], splits: Sequence[str] = ("smoke", "train")
    ) -> list[list[EvaluationResult]]:
        """Each program through ``splits`` in turn; a program stops at its first failed stage. A split without
        instances (a problem with no stress set) is no stage."""
        histories: list[list[EvaluationResult]] = [[] for _ in codes]
        alive = list(range(len(codes)))
        for split in splits:
            if not alive:
                break
            if not self.instances(split):
                continue
            results = self.evaluate_many([codes[i] for i in alive], split)
            for index, result in zip(alive, results):
                histories[index].append(result)
            alive = [i for i, r in zip(alive, results) if r.ok]
        return histories

    # -- judging ---------------------------------------------------------------------------------------

    def _judge(self, split: str, instances: list[Instance], outcome: SandboxResult, seconds: float) -> EvaluationResult:
        if outcome.status != "ok":
            return EvaluationResult(
                split, outcome.status, feedback=_with_stdio(outcome.message, outcome.stdio), seconds=seconds
            )
        runs: list[InstanceRun] = []
        records: list[dict[str, Any]] = []
        failures: list[str] = []
        raised = False
        # Loading the program (its module-level code) is charged to its instances in equal shares: work done at
        # import is timed like work done in a call.
        load_share = outcome.load_seconds / max(1, len(instances))
        for instance, result in zip(instances, outcome.outcomes):
            output, error = result.decode()  # one instance's output in memory at a time
            if error is not None:
                raised = True
                verdict = Verdict(False, reason=f"raised {error}")
            else:
                verdict = _safe_verify(self.problem, instance, output)
            del output
            charged = result.seconds + load_share
            runs.append(InstanceRun(instance, verdict, charged))
            records.append(
                {
                    "id": instance.id,
                    "group": instance.group,
                    "feasible": verdict.feasible,
                    "reason": verdict.reason,
                    "seconds": charged,
                    "output_digest": hashlib.blake2b(result.raw, digest_size=8).hexdigest(),
                    **verdict.values,
                }
            )
            if not verdict.feasible:
                failures.append(f"{instance.id}: {verdict.reason}")
        if failures:
            status = "error" if raised else "infeasible"
            feedback = f"{len(failures)} of {len(instances)} instances failed; " + "; ".join(failures[:3])
            return EvaluationResult(
                split, status, per_instance=records, feedback=_with_stdio(feedback, outcome.stdio), seconds=seconds
            )
        metrics = self.problem.aggregate(runs)
        not_finite = [
            o.name
            for o in self.problem.objectives
            if not is_finite_number(metrics.get(o.name)) and not (o.on_request and o.name not in metrics)
        ]
        if not_finite:  # never scored, so never selected: NaN is dominated by nothing
            shown = ", ".join(f"{name} = {metrics.get(name)!r}" for name in not_finite)
            feedback = f"not scored: objective {shown} is not a finite number"
            return EvaluationResult(split, "error", per_instance=records, feedback=feedback, seconds=seconds)
        groups: dict[str, list[InstanceRun]] = {}
        for run in runs:
            groups.setdefault(run.instance.group, []).append(run)
        by_group = {name: self.problem.aggregate(members) for name, members in sorted(groups.items())}
        summary = _summary(self.problem, metrics, records, outcome.load_seconds)
        return EvaluationResult(split, "ok", metrics, by_group, records, summary, seconds)


def _safe_verify(problem: Problem, instance: Instance, output: Any) -> Verdict:
    try:
        return problem.verify(instance, output)
    except Exception as exc:  # noqa: BLE001 - a verifier bug must not lose the run; it is reported as such
        return Verdict(False, reason=f"the verifier failed on this output ({type(exc).__name__}: {exc})")


def _with_stdio(message: str, stdio: str) -> str:
    return f"{message}\n--- program output (first KiB) ---\n{stdio[:1024]}" if stdio.strip() else message


def _summary(problem: Problem, metrics: dict[str, float], records: list[dict[str, Any]], load: float) -> str:
    parts = [f"{o.name} = {metrics[o.name]:.4g}{o.unit}" for o in problem.objectives if o.name in metrics]
    slowest = sorted(records, key=lambda r: r["seconds"], reverse=True)[:3]
    parts.append("slowest: " + ", ".join(f"{r['id']} {1000 * r['seconds']:.1f} ms" for r in slowest))
    parts.append(f"loading the program: {1000 * load:.1f} ms, shared by the instances")
    return "; ".join(parts)
