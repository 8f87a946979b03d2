"""The ``jobshop`` baselines and seed (seeds/jobshop/*.py): each rule's defining choice on a hand-made conflict
set, and every one of them accepted by the verifier through both halves of the runner."""

from __future__ import annotations

import functools
import importlib.util
import types

import pytest

from evaluators.lockstep import play_locally
from problems.base import seeds_dir
from problems.jobshop import runner
from problems.registry import load

BASELINES = ("fifo", "spt", "lpt", "mwkr", "mor", "lor", "fdd_mwkr")

# Machine 0 is wanted by all three jobs at once. Job 0: 6 on machine 0, then 9 on machine 1 (15 left, 2 ops).
# Job 1: 2 on machine 0, then 1 and 1 (4 left, 3 ops). Job 2 first spends 1 on machine 1, then 4 on machine 0.
JOBS = [[[0, 6], [1, 9]], [[0, 2], [1, 1], [2, 1]], [[1, 1], [0, 4]]]


@functools.cache
def policy(name: str) -> types.ModuleType:
    # Test-only: seeds are candidate programs the engine runs in a sandbox; here they run in-process.
    path = seeds_dir() / "jobshop" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"jobshop_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def first_choice_on_machine_0(name: str) -> int:
    log = play_locally(runner, policy(name), {"jobs": JOBS, "machines": 3})
    # the first decision is the conflict on machine 0 between jobs 0 and 1 (job 2's operation on machine 1 is
    # forced or comes later): the rule's first pick among jobs 0 and 1 (FDD/MWKR: 6 / 15 against 2 / 4)
    return next(job for job in log if job in (0, 1))


@pytest.mark.parametrize(
    ("name", "job"),
    [("spt", 1), ("lpt", 0), ("mwkr", 0), ("mor", 1), ("lor", 0), ("fifo", 0), ("fdd_mwkr", 0), ("seed", 0)],
)
def test_each_rule_makes_its_defining_choice(name, job):
    assert first_choice_on_machine_0(name) == job


def test_fdd_mwkr_prefers_the_job_further_from_its_flow_due_date():
    op = types.SimpleNamespace(work_done=10, duration=5, work_remaining=50)  # 15 / 50
    late = types.SimpleNamespace(work_done=40, duration=5, work_remaining=50)  # 45 / 50
    assert policy("fdd_mwkr").priority(op, None) > policy("fdd_mwkr").priority(late, None)


def test_fifo_takes_the_operation_that_joined_the_queue_first():
    early, late = types.SimpleNamespace(job_ready=3), types.SimpleNamespace(job_ready=8)
    assert policy("fifo").priority(early, None) > policy("fifo").priority(late, None)


@pytest.mark.parametrize("name", [*BASELINES, "seed"])
def test_every_rule_gives_a_log_the_verifier_accepts(name):
    problem = load("jobshop")
    for instance in [*problem.instances("smoke"), *problem.stress_instances()]:
        log = play_locally(runner, policy(name), instance.data)
        verdict = problem.verify(instance, log)
        assert verdict.feasible, f"{instance.id}: {verdict.reason}"
        assert verdict.values["makespan"] >= verdict.values["reference"]


def test_the_problem_lists_every_baseline_and_the_seed_has_an_evolve_block():
    problem = load("jobshop")
    assert sorted(p.stem for p in problem.baselines()) == sorted(BASELINES)
    for path in [*problem.baselines(), problem.seed_program()]:
        text = path.read_text()
        assert text.index("# EVOLVE-BLOCK-START") < text.index("def priority") < text.index("# EVOLVE-BLOCK-END")
