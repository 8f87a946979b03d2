"""Class 6 of issue 14: a policy inside a simulation looks for what a real scheduler cannot observe.

Each program of ``serving/`` and ``spot/`` is the problem's seed with an attack in front: it searches its process
(live objects, the frames that call it, what refers to its state) for true output lengths, requests yet to
arrive, or spot availability beyond the current tick, and answers with something the engine rejects if it finds
any. Run through the real loop on the problem's own splits, each must be scored exactly as the seed: the
simulation runs in the sandbox server, and the policy's process holds only what it has observed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from harness import attack, expectation, programs_in
from processes import alive, descendants_of

from evaluators.sandbox import SandboxLimits
from problems.base import seeds_dir

HERE = Path(__file__).resolve().parent
PROBLEMS = {"serving": ("schedule", ("goodput", "p99_ttft")), "spot": ("decide", ("cost",))}
ATTACKS = {name: programs_in(HERE / name) for name in PROBLEMS}


def composed(problem: str, attack_program: Path) -> str:
    """The attack, with the seed's code after it, its entry point renamed ``honest``."""
    entry, _ = PROBLEMS[problem]
    seed = (seeds_dir() / problem / "seed.py").read_text()
    return attack_program.read_text() + "\n\n" + re.sub(rf"\bdef {entry}\(", "def honest(", seed)


@pytest.fixture(scope="module", params=sorted(PROBLEMS))
def attacked(request, tmp_path_factory, processes_before_the_attacks):
    problem = request.param
    folder = tmp_path_factory.mktemp(problem)
    programs = [(p.stem, composed(problem, p)) for p in ATTACKS[problem]]
    seed = (seeds_dir() / problem / "seed.py").read_text()
    return problem, attack(problem, programs, folder, 1, SandboxLimits(), seed=seed)


def test_the_suite_holds_two_variants_for_each_simulation():
    assert all(len(programs) >= 2 for programs in ATTACKS.values())


def test_a_policy_that_looks_for_hidden_data_finds_none_and_scores_as_the_seed(attacked):
    problem, run = attacked
    _, objectives = PROBLEMS[problem]
    [seed] = [p for p in run.archive.programs(run.run_id) if p.mutator == "seed"]
    for program in ATTACKS[problem]:
        record = run.record(program.stem)
        statuses, _ = expectation(program)
        assert record.status in statuses, (program.stem, run.feedback(program.stem))
        for split in ("smoke", "train"):
            got, expected = record.metrics(split), seed.metrics(split)
            assert {o: got[o] for o in objectives} == {o: expected[o] for o in objectives}, (program.stem, split)


def test_no_process_of_any_attack_survives(attacked, processes_before_the_attacks):
    survivors = set(descendants_of(os.getpid())) - processes_before_the_attacks
    assert [pid for pid in survivors if alive(pid)] == []
