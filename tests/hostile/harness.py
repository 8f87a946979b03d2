"""Runs hostile programs as candidates through the real loop: sandbox, cascade, verifier and archive.

Each program's first line says what to expect: ``# expect: STATUS[|STATUS...]: reason fragment[|fragment...]``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from evaluators.sandbox import SandboxLimits
from evolve.archive.store import Archive, ProgramRecord, sqlite_url
from evolve.config import RunConfig
from evolve.mutator import Candidate, MutationContext
from evolve.search.loop import Loop, LoopOutcome
from problems import registry


def expectation(program: Path) -> tuple[set[str], list[str]]:
    statuses, _, reasons = program.read_text().splitlines()[0].removeprefix("# expect:").strip().partition(":")
    return set(statuses.split("|")), [r for r in reasons.strip().split("|") if r]


def programs_in(folder: Path) -> list[Path]:
    """The hostile programs of a folder, by name (test modules and helpers are not programs)."""
    return sorted(p for p in folder.glob("*.py") if not p.name.startswith("test_") and p.stem != "harness")


def wrapped(code: str) -> str:
    """A program as one whole EVOLVE-BLOCK (its own markers dropped), as a child of a seed that is one block."""
    lines = [line for line in code.splitlines() if line.strip() not in ("# EVOLVE-BLOCK-START", "# EVOLVE-BLOCK-END")]
    return "# EVOLVE-BLOCK-START\n" + "\n".join(lines) + "\n# EVOLVE-BLOCK-END\n"


@dataclasses.dataclass
class Attacker:
    """A mutator whose one batch is the given programs, in order: with one worker, each runs in the sandbox right
    after the one before it, so that what a program leaves behind meets the next."""

    programs: list[tuple[str, str]]  # (note, code)
    name: str = "attacker"

    def propose(self, context: MutationContext) -> list[Candidate]:
        return [Candidate(wrapped(code), self.name, (context.parent.id,), note) for note, code in self.programs]


@dataclasses.dataclass
class AttackRun:
    outcome: LoopOutcome
    archive: Archive
    run_id: int
    folder: Path

    def record(self, note: str) -> ProgramRecord:
        [record] = [p for p in self.archive.programs(self.run_id) if p.note == note]
        return record

    def feedback(self, note: str) -> str:
        return " ".join(e.feedback for e in self.record(note).evaluations.values())


def attack(
    problem_name: str,
    programs: list[tuple[str, str]],
    folder: Path,
    workers: int,
    limits: SandboxLimits,
    seconds_per_instance: float | None = None,
    seed: str | None = None,
) -> AttackRun:
    """One iteration of the loop on ``problem_name`` whose batch is ``programs``; ``seed`` replaces the seed."""
    problem = registry.load(problem_name)
    if seed is not None:
        (folder / "seed.py").write_text(wrapped(seed))
        problem.spec = dataclasses.replace(problem.spec, seed=str(folder / "seed.py"))
    limit = seconds_per_instance or problem.spec.seconds_per_instance
    problem.spec = dataclasses.replace(problem.spec, seconds_per_instance=limit)
    # The seed alone is the parent of every attack (the attacks are written against its program).
    config = RunConfig(
        iterations=1,
        batch_size=1,
        islands=1,
        workers=workers,
        mutators={"attacker": 1.0},
        seed=3,
        baselines_in_population=False,
        screen_instances=0,  # an attack is judged on the whole train split, not stopped early for scoring as the seed
    )
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, limit, workers, limits)
    archive = Archive(sqlite_url(folder))
    run_id = archive.create_run(problem_name, config.to_dict(), 0)
    try:
        loop = Loop(config, Evaluator(problem, pool), archive, run_id, {"attacker": Attacker(programs)}, folder, _quiet)
        # An attack is judged by its evaluation: most give the seed's answers on purpose, which would make them
        # behavioural duplicates of it, a verdict of the search and not of the sandbox.
        loop.cascade.behaviour = None
        outcome = loop.run()
    finally:
        pool.close()
    return AttackRun(outcome, archive, run_id, folder)


def _quiet(_: str) -> None:
    pass


def matches(feedback: str, fragments: list[str]) -> bool:
    """Whether the recorded reason is the expected one; an attack that got through says ESCAPED instead."""
    if "ESCAPED" in feedback:
        return False
    return not fragments or any(fragment in feedback for fragment in fragments)
