"""The loop records hostile and broken candidates as failed with their reason and goes on."""

from __future__ import annotations

import dataclasses
import subprocess
import textwrap

import pytest
from loop_runs import run_loop

from evaluators.evaluator import Evaluator, static_check
from evaluators.pool import LocalPool
from evolve.archive.store import Archive, EvaluationRecord, ProgramRecord, sqlite_url
from evolve.config import RunConfig
from evolve.mutator import Candidate, MutationContext
from evolve.search.frontier import frontier_of
from evolve.search.loop import Loop
from problems import registry
from problems.base import Objective

SEED = """\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
"""

HOSTILE = {
    "loops forever": "def schedule(p, w, d):\n    while True:\n        pass\n",
    "allocates 10 GB": "def schedule(p, w, d):\n    x = bytearray(10 * 1024 ** 3)\n    return list(range(len(p)))\n",
    "forks children that outlive it": textwrap.dedent("""\
        import os
        forked = []
        def schedule(p, w, d):
            if len(forked) < 3:  # a few, below the sandbox's process limit
                forked.append(1)
                if os.fork() == 0:
                    os.setsid()
                    os.execv("/usr/bin/sleep", ["sleep", "4245"])
            return sorted(range(len(p)), key=lambda j: -w[j] / p[j])
        """),
    "returns a non-permutation": "def schedule(p, w, d):\n    return [0] * len(p)\n",
    "returns NaN": "def schedule(p, w, d):\n    return [float('nan')] + list(range(1, len(p)))\n",
    "is fine": "def schedule(p, w, d):\n    return sorted(range(len(p)), key=lambda j: -w[j] / p[j])\n",
}


class ScriptedMutator:
    """Proposes the hostile programs above, each as the seed's EVOLVE-BLOCK."""

    name = "scripted"

    def propose(self, context: MutationContext) -> list[Candidate]:
        return [
            Candidate(f"# EVOLVE-BLOCK-START\n{body}# EVOLVE-BLOCK-END\n", "scripted", (context.parent.id,), what)
            for what, body in HOSTILE.items()
        ]


@pytest.fixture
def problem(tmp_path):
    problem = registry.load("tardiness")
    (tmp_path / "seed.py").write_text(SEED)
    # A problem of its own seed only: the scripted children replace that seed's whole program.
    problem.spec = dataclasses.replace(
        problem.spec, seed=str(tmp_path / "seed.py"), baselines=(), seconds_per_instance=0.5
    )
    return problem


def test_hostile_candidates_are_recorded_as_failed_with_reasons_and_the_run_goes_on(problem, tmp_path):
    config = RunConfig(iterations=1, batch_size=1, islands=1, workers=2, mutators={"scripted": 1.0})
    outcome, archive, run_id = run_loop(problem, config, ScriptedMutator(), tmp_path)
    assert outcome.status == "finished"
    by_note = {p.note: p for p in archive.programs(run_id)}
    assert by_note["loops forever"].status == "timeout"
    assert "no answer within 0.5 s" in by_note["loops forever"].evaluations["smoke"].feedback
    assert by_note["allocates 10 GB"].status == "error"
    assert "MemoryError" in by_note["allocates 10 GB"].evaluations["smoke"].feedback
    assert by_note["returns a non-permutation"].status == "infeasible"
    assert "appears" in by_note["returns a non-permutation"].evaluations["smoke"].feedback
    assert by_note["returns NaN"].status == "infeasible"
    assert "NaN" in by_note["returns NaN"].evaluations["smoke"].feedback
    assert by_note["forks children that outlive it"].status == "ok"
    assert by_note["is fine"].status == "ok"
    assert all(
        by_note[k].metrics("train") is None for k in HOSTILE if k not in ("is fine", "forks children that outlive it")
    )
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sleep 4245" not in listing


def test_a_child_that_edits_outside_its_block_is_rejected_before_running(problem, tmp_path):
    class EditsDriver:
        name = "edits-driver"

        def propose(self, context):
            return [Candidate(context.parent.code + "\nimport os\n", "edits-driver", (context.parent.id,))]

    config = RunConfig(iterations=1, batch_size=1, islands=1, workers=1, mutators={"edits-driver": 1.0})
    _, archive, run_id = run_loop(problem, config, EditsDriver(), tmp_path)
    child = archive.programs(run_id)[-1]
    assert child.status == "invalid" and list(child.evaluations) == ["static"]


def test_static_check_explains_what_is_wrong():
    assert "syntax error at line 1" in static_check("def (:\n", "schedule")
    assert "must define a top-level function schedule()" in static_check("x = 1\n", "schedule")
    assert static_check("def schedule(p, w, d):\n    return []\n", "schedule") is None


def test_long_runs_with_pruned_islands_never_migrate_a_program_twice(tmp_path):
    from evolve.mutators.genetic import GeneticMutator

    problem = registry.load("tardiness")
    config = RunConfig(
        iterations=30,
        batch_size=4,
        islands=2,
        population_size=2,
        migration_interval=1,
        migration_size=2,
        workers=2,
        mutators={"genetic": 1.0},
        # Gap alone, from the seed alone: selection never reads a wall time, so the run (and whether children
        # become elites to migrate) is the same under any machine load.
        objectives=("gap",),
        baselines_in_population=False,
    )
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, problem.spec.seconds_per_instance, 2)
    archive = Archive(sqlite_url(tmp_path))
    run_id = archive.create_run(problem.name, config.to_dict(), config.seed)
    try:
        evaluator = Evaluator(problem, pool)
        mutators = {"genetic": GeneticMutator()}
        loop = Loop(config, evaluator, archive, run_id, mutators, tmp_path, lambda _: None)
        assert loop.run().status == "finished"
        moves = archive.migrations(run_id)
        assert moves and len(moves) == len(set(moves))
        homes = {p.id: p.island for p in archive.programs(run_id)}
        assert all(homes[program_id] != island for program_id, island in moves)
        # What a resume rebuilds from the archive is the state the run had: pruned islands and the frontier.
        resumed = Loop(config, evaluator, archive, run_id, mutators, tmp_path, lambda _: None)
        assert [p.id for p in resumed.frontier()] == [p.id for p in loop.frontier()]
        assert [[m.program_id for m in i.members] for i in resumed.islands] == [
            [m.program_id for m in i.members] for i in loop.islands
        ]
        assert any(len(i.members) < sum(1 for p in archive.programs(run_id) if p.selectable) for i in loop.islands)
    finally:
        pool.close()


def run_with(config: RunConfig, tmp_path, before=lambda run_dir: None):
    from evolve.mutators.genetic import GeneticMutator

    before(tmp_path)
    outcome, archive, run_id = run_loop(registry.load("tardiness"), config, GeneticMutator(), tmp_path)
    return outcome, archive.run(run_id)


def test_a_stop_file_ends_the_run_cleanly_before_the_next_iteration(tmp_path):
    config = RunConfig(iterations=50, workers=2, mutators={"genetic": 1.0})
    outcome, run = run_with(config, tmp_path, before=lambda d: (d / "STOP").write_text(""))
    assert outcome.status == "stopped" and "stop file" in outcome.reason
    assert (run.status, run.iteration) == ("stopped", 0)


def test_the_evaluation_budget_stops_the_run(tmp_path):
    config = RunConfig(iterations=50, workers=2, max_evaluations=12, mutators={"genetic": 1.0})
    outcome, run = run_with(config, tmp_path)
    assert outcome.status == "budget" and run.iteration < 50
    assert 12 <= run.evaluations <= 12 + 2 * config.proposals_per_iteration


def test_two_runs_with_the_same_seed_propose_the_same_first_children(tmp_path):
    # Selection on gap alone: with the baselines beside the seed, parents are chosen by their values, and a
    # measured time would make the choice depend on the machine's load.
    config = RunConfig(iterations=1, workers=2, seed=5, mutators={"genetic": 1.0}, objectives=("gap",))
    codes = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        run_with(config, tmp_path / name)
        codes.append(sorted(p.code_hash for p in Archive(sqlite_url(tmp_path / name)).programs(1)))
    assert codes[0] == codes[1] and len(codes[0]) > 1


def _scored(program_id: int, gap: float, time_ms: float) -> ProgramRecord:
    train = EvaluationRecord("train", "ok", {"gap": gap, "time_ms": time_ms}, {}, [], "", 0)
    return ProgramRecord(program_id, 1, "", str(program_id), (), 0, 0, 0, "genetic", None, "", {"train": train})


def test_programs_with_equal_train_values_are_one_frontier_point_the_first_found():
    objectives = [Objective("gap", "min"), Objective("time_ms", "min")]
    programs = [_scored(5, 1.0, 2.0), _scored(2, 1.0, 2.0), _scored(3, 2.0, 1.0), _scored(4, 3.0, 3.0)]
    assert [p.id for p in frontier_of(programs, objectives)] == [2, 3]
    assert [p.id for p in frontier_of(programs, objectives[:1])] == [2]


def test_a_time_within_the_tolerance_of_another_is_the_same_frontier_point():
    """Epsilon-box dominance on measured objectives: 5% faster at the same gap is noise under a 10% tolerance,
    and the first program found stands for both; twice as fast is a better point and displaces it."""
    objectives = [Objective("gap", "min"), Objective("time_ms", "min", measured=True)]
    first, noise, faster = _scored(2, 1.0, 1.05), _scored(3, 1.0, 1.0), _scored(4, 1.0, 0.5)
    assert [p.id for p in frontier_of([first, noise], objectives, tolerance=0.1)] == [2]
    assert [p.id for p in frontier_of([first, noise], objectives)] == [3], "without a tolerance, noise wins"
    assert [p.id for p in frontier_of([first, noise, faster], objectives, tolerance=0.1)] == [4]
    slower_but_better = _scored(5, 0.5, 3.0)
    assert [p.id for p in frontier_of([first, slower_but_better], objectives, tolerance=0.1)] == [5, 2]
