"""The run's first and last defences: the population starts at the human baselines, a program that breaks
outside the train distribution is stopped by the stress set, and a child doing what its parent does never
reaches the frontier by being timed faster."""

from __future__ import annotations

import dataclasses

import pytest
from loop_runs import Proposes, run_loop

from evolve.config import RunConfig
from evolve.mutator import Candidate, MutationContext
from evolve.review.report.yardsticks import yardsticks
from evolve.search import records
from evolve.search.behaviour import BehaviourCheck
from evolve.search.frontier import frontier_of
from evolve.search.loop import Loop
from problems import registry

# Good on train (n <= 100: weighted shortest processing time), but its table of 128 slots overflows beyond.
FRAGILE = """\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    slots = [0] * 128
    for j in range(len(p)):
        slots[j] = j
    return sorted(range(len(p)), key=lambda j: (-w[j] / p[j], slots[j]))
# EVOLVE-BLOCK-END
"""
EDD = """\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
"""


class NoOp:
    """Adds a statement that changes nothing to the parent's block: new code, the parent's behaviour."""

    name = "noop"

    def __init__(self):
        self.count = 0

    def propose(self, context: MutationContext) -> list[Candidate]:
        self.count += 1
        code = context.parent.code.replace(
            "# EVOLVE-BLOCK-END", f"_unused_{self.count} = {self.count}\n# EVOLVE-BLOCK-END"
        )
        return [Candidate(code, self.name, (context.parent.id,), "dead code")]


@pytest.fixture
def tardiness():
    return registry.load("tardiness")


def test_the_population_starts_with_the_seed_and_every_baseline_so_the_frontier_starts_at_the_best(tardiness, tmp_path):
    config = RunConfig(iterations=1, batch_size=1, islands=2, workers=2, mutators={"genetic": 1.0})
    _, archive, run_id = run_loop(tardiness, config, _genetic(), tmp_path)
    initial = [p for p in archive.programs(run_id) if p.iteration == 0]
    assert [p.mutator for p in initial] == ["seed"] + ["baseline"] * 4
    assert [p.note for p in initial[1:]] == ["baseline edd", "baseline wspt", "baseline wmdd", "baseline atc"]
    best_baseline = min(p.metrics("train")["gap"] for p in initial[1:])
    front = frontier_of(archive.programs(run_id), config.search_objectives(tardiness.spec))
    assert front[0].metrics("train")["gap"] <= best_baseline < initial[0].metrics("train")["gap"]
    # Baselines are yardsticks: scored on the held-out split even off the frontier, and the verdict and the
    # report take those figures from the run instead of scoring the baselines again.
    assert all("test" in p.evaluations for p in initial)
    yard = yardsticks(tardiness, tmp_path, None, archive.programs(run_id))
    assert not yard.note and sorted(yard.baselines) == ["atc", "edd", "wmdd", "wspt"]
    for program in initial[1:]:
        name = program.note.removeprefix("baseline ")
        assert yard.baselines[name]["test"]["metrics"]["gap"] == program.metrics("test")["gap"]


def test_without_baselines_in_population_the_seed_starts_alone(tardiness, tmp_path):
    config = RunConfig(iterations=1, batch_size=1, workers=2, mutators={"genetic": 1.0}, baselines_in_population=False)
    _, archive, run_id = run_loop(tardiness, config, _genetic(), tmp_path)
    assert [p.mutator for p in archive.programs(run_id) if p.iteration == 0] == ["seed"]


def test_the_stress_set_rejects_a_program_that_fails_only_outside_the_train_distribution(tardiness, tmp_path):
    (tmp_path / "seed.py").write_text(EDD)
    tardiness.spec = dataclasses.replace(tardiness.spec, seed=str(tmp_path / "seed.py"), baselines=())
    config = RunConfig(iterations=1, batch_size=1, islands=1, workers=2, mutators={"scripted": 1.0})
    _, archive, run_id = run_loop(tardiness, config, Proposes(FRAGILE), tmp_path)
    seed, fragile = archive.programs(run_id)
    assert fragile.evaluations["smoke"].ok and fragile.evaluations["train"].ok
    assert fragile.metrics("train")["gap"] < seed.metrics("train")["gap"], "it would have led the frontier"
    stress = fragile.evaluations["stress"]
    assert fragile.status == stress.status == "error" and not fragile.selectable
    assert "stress-n200: raised IndexError" in stress.feedback
    front = frontier_of(archive.programs(run_id), config.search_objectives(tardiness.spec))
    assert [p.id for p in front] == [seed.id] and seed.evaluations["stress"].ok


def test_a_no_op_child_never_reaches_the_frontier_by_its_time(tardiness, tmp_path, monkeypatch):
    tardiness.spec = dataclasses.replace(tardiness.spec, baselines=())
    config = RunConfig(iterations=3, batch_size=2, islands=1, workers=2, mutators={"noop": 1.0})
    assert [o.name for o in config.search_objectives(tardiness.spec)] == ["gap", "time_ms"]
    monkeypatch.setattr(Loop, "_add_initial_population", _retimed_as_the_seed(Loop._add_initial_population))
    _, archive, run_id = run_loop(tardiness, config, NoOp(), tmp_path)
    programs = archive.programs(run_id)
    children = [p for p in programs if p.mutator == "noop"]
    assert len(children) == 6
    assert all(p.evaluations["behaviour"].status == "duplicate" and not p.selectable for p in children)
    assert all("behavioural duplicate" in p.evaluations["behaviour"].feedback for p in children)
    front = frontier_of(programs, config.search_objectives(tardiness.spec))
    assert [p.mutator for p in front] == ["seed"]


def _retimed_as_the_seed(add_initial_population):
    """The loop's first step, after which every paired re-timing answers with the seed's own measurement: a
    child's first time is the sandbox's, so any lead it has over its parent is noise."""

    def wrapped(self):
        add_initial_population(self)
        [seed] = self.programs.values()
        train = records.evaluation_result(seed.evaluations["train"])
        self.cascade.behaviour = BehaviourCheck(self.objectives, lambda codes, split: [train for _ in codes])

    return wrapped


def _genetic():
    from evolve.mutators.genetic import GeneticMutator

    return GeneticMutator()
