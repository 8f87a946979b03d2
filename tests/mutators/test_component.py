import random

from evolve.code_blocks import check_intact
from evolve.mutator import MutationContext, ProgramView
from evolve.mutators.component import ComponentMutator
from problems import registry
from problems.tardiness import instances as gen
from problems.tardiness.exact import total_weighted_tardiness

TARDINESS = registry.load("tardiness")
MDD = next(p for p in TARDINESS.baselines() if p.stem == "wmdd").read_text()


def context(code: str) -> MutationContext:
    return MutationContext(ProgramView(3, code, {}), [], (), random.Random(0), lambda codes: [None] * len(codes))


def run(code: str, data: dict) -> list[int]:
    namespace: dict = {}
    exec(code, namespace)  # our own baseline and component, not a candidate
    return namespace["schedule"](data["p"], data["w"], data["d"])


def test_the_interchange_component_turns_the_identity_hook_into_an_improvement_step():
    [child] = ComponentMutator(TARDINESS.components()).propose(context(MDD))
    assert child.mutator == "component" and child.parent_ids == (3,)
    assert child.note == "component: improve() from interchange.py"
    assert check_intact(MDD, child.code) is None and "def priority" in child.code
    cases = [gen.generate(50, tf, rdd, 8000 + k) for k, (tf, rdd) in enumerate([(0.6, 0.2), (0.8, 0.4), (0.4, 0.6)])]
    before = [total_weighted_tardiness(c["p"], c["w"], c["d"], run(MDD, c)) for c in cases]
    after = [total_weighted_tardiness(c["p"], c["w"], c["d"], run(child.code, c)) for c in cases]
    assert all(a <= b for a, b in zip(after, before)) and sum(after) < sum(before)
    assert all(sorted(run(child.code, c)) == list(range(50)) for c in cases)


def test_a_parent_that_already_has_the_component_or_lacks_the_hook_gets_nothing():
    mutator = ComponentMutator(TARDINESS.components())
    [child] = mutator.propose(context(MDD))
    assert mutator.propose(context(child.code)) == []
    no_hook = "# EVOLVE-BLOCK-START\ndef schedule(p, w, d):\n    return list(range(len(p)))\n# EVOLVE-BLOCK-END\n"
    assert mutator.propose(context(no_hook)) == []
    assert ComponentMutator([]).propose(context(MDD)) == []
