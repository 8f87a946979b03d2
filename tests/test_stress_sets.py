"""Every shipped problem has a stress set, and every shipped seed and baseline passes it: a seed that failed
would end every run at iteration 0, and a baseline that failed would be left out of the population."""

from __future__ import annotations

import pytest

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from problems import registry
from problems.base import STRESS


@pytest.mark.parametrize("name", ["tardiness", "moe", "spot", "serving", "podpack", "jobshop"])
def test_every_shipped_program_gives_valid_outputs_on_the_stress_set(name):
    problem = registry.load(name)
    stress = problem.stress_instances()
    assert len(stress) >= 5 and len({i.id for i in stress}) == len(stress)
    spec = problem.spec
    pool = LocalPool(spec.runner, spec.entry_point, spec.seconds_per_instance, 2)
    try:
        files = [problem.seed_program(), *problem.baselines()]
        results = Evaluator(problem, pool).evaluate_many([f.read_text() for f in files], STRESS)
    finally:
        pool.close()
    failed = {f.stem: r.feedback for f, r in zip(files, results) if not r.ok}
    assert not failed
    assert all(len(r.per_instance) == len(stress) for r in results)
