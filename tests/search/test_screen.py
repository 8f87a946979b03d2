"""The screen: a child runs on a few train instances first, and on the rest only if it beats its parent there."""

from __future__ import annotations

import dataclasses

import pytest
from loop_runs import Proposes, run_loop

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from evolve.config import ConfigError, RunConfig
from evolve.search.cascade import Cascade
from evolve.search.frontier import frontier_of
from evolve.search.screen import Screen
from problems import registry

EDD = """\
# EVOLVE-BLOCK-START
def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
# EVOLVE-BLOCK-END
"""
WSPT = EDD.replace("key=lambda j: d[j]", "key=lambda j: -w[j] / p[j]")
# Worse than EDD on any instance with due dates to meet: the reverse of EDD.
LATEST_DUE_FIRST = EDD.replace("key=lambda j: d[j]", "key=lambda j: -d[j]")


@pytest.fixture
def tardiness(tmp_path):
    problem = registry.load("tardiness")
    (tmp_path / "seed.py").write_text(EDD)
    problem.spec = dataclasses.replace(problem.spec, seed=str(tmp_path / "seed.py"), baselines=())
    return problem


def test_a_child_worse_on_the_screen_never_runs_on_all_of_train_and_a_better_one_does(tardiness, tmp_path):
    config = RunConfig(iterations=1, batch_size=1, islands=1, workers=2, mutators={"scripted": 1.0}, screen_instances=3)
    _, archive, run_id = run_loop(tardiness, config, Proposes(LATEST_DUE_FIRST, WSPT), tmp_path)
    seed, worse, better = archive.programs(run_id)
    assert "screen" not in seed.evaluations, "the starting programs have no parent to be screened against"
    assert [r["id"] for r in worse.evaluations["screen"].per_instance] == [
        r["id"] for r in better.evaluations["screen"].per_instance
    ]
    assert len(worse.evaluations["screen"].per_instance) == 3
    assert worse.status == "screened" and "train" not in worse.evaluations and not worse.selectable
    assert "screened out: no better than its parent on 3 train instances" in worse.evaluations["screen"].feedback
    assert better.evaluations["screen"].ok and better.evaluations["train"].ok and better.selectable
    # Screened on 3 instances, selected on all 75.
    assert len(better.evaluations["train"].per_instance) == len(tardiness.instances("train"))
    front = frontier_of(archive.programs(run_id), config.search_objectives(tardiness.spec))
    assert better.id in [p.id for p in front]


def test_the_subsets_slide_over_every_train_instance_in_a_seeded_order(tardiness):
    pool = LocalPool(tardiness.spec.runner, tardiness.spec.entry_point, tardiness.spec.seconds_per_instance, 1)
    try:
        evaluator = Evaluator(tardiness, pool)
        objectives = RunConfig().search_objectives(tardiness.spec)
        screen = Screen(evaluator, objectives, size=4, seed=0, tolerance=0.1)
        count = len(evaluator.instances("train"))
        windows = [screen.subset(i) for i in range(-(-count // 4))]
        assert all(len(w) == 4 and len(set(w)) == 4 for w in windows)
        assert set().union(*windows) == set(range(count))
        assert screen.subset(5) == Screen(evaluator, objectives, size=4, seed=0, tolerance=0.1).subset(5)
        assert screen.subset(5) != Screen(evaluator, objectives, size=4, seed=1, tolerance=0.1).subset(5)
    finally:
        pool.close()


def test_tuning_scores_on_the_subset_what_the_stored_train_results_say_of_it(tardiness):
    """The parent's figures on a subset are recomputed from its stored train records, and a fresh evaluation
    on the subset (what tuning pays for) gives the same primary objective."""
    pool = LocalPool(tardiness.spec.runner, tardiness.spec.entry_point, tardiness.spec.seconds_per_instance, 2)
    try:
        evaluator = Evaluator(tardiness, pool)
        config = RunConfig(screen_instances=5, seed=4)
        spent = []
        cascade = Cascade(config, evaluator, config.search_objectives(tardiness.spec), spent.append)
        cascade.start_iteration(3)
        [score] = cascade.score([EDD], iteration=3)
        assert spent == [1]
        subset = {i.id for i in evaluator.instances("screen@3")}
        assert len(subset) == 5
        train = evaluator.evaluate(EDD, "train")
        stored = evaluator.metrics_of([r for r in train.per_instance if r["id"] in subset], "train")
        assert score == pytest.approx(stored["gap"], abs=1e-12)
        assert score != pytest.approx(train.metrics["gap"], abs=1e-6), "the subset is not the whole split"
    finally:
        pool.close()


def test_screen_sizes_come_from_the_problem_unless_the_run_says_otherwise():
    serving = registry.load("serving").spec
    assert RunConfig().screen_size(serving) == 2
    assert RunConfig(screen_instances=0).screen_size(serving) == 0
    assert RunConfig().screen_size(registry.load("tardiness").spec) == 0
    with pytest.raises(ConfigError, match="screen_instances"):
        RunConfig(screen_instances=-2)
