import random

from evolve.code_blocks import check_intact
from evolve.mutator import MutationContext, ProgramView
from evolve.mutators.blend import BlendMutator
from problems.base import seeds_dir
from problems.tardiness import instances as gen
from problems.tardiness.exact import total_weighted_tardiness

MDD = (seeds_dir() / "tardiness" / "wmdd.py").read_text()
ATC = (seeds_dir() / "tardiness" / "atc.py").read_text()
CASES = [
    gen.generate(40, tf, rdd, 7000 + k)
    for k, (tf, rdd) in enumerate([(0.4, 0.4), (0.6, 0.2), (0.8, 0.6), (0.6, 0.8), (1.0, 0.2), (0.4, 1.0)])
]


class TotalTardiness:
    """A fake ScoreFn: runs our own seeds' programs in-process and sums their weighted tardiness."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, codes):
        self.calls.append(list(codes))
        return [self._score(code) for code in codes]

    @staticmethod
    def _score(code: str) -> float | None:
        namespace: dict = {}
        try:
            exec(code, namespace)
            orders = [namespace["schedule"](c["p"], c["w"], c["d"]) for c in CASES]
        except Exception:  # noqa: BLE001 - a broken blend scores nothing, as in the sandbox
            return None
        return float(sum(total_weighted_tardiness(c["p"], c["w"], c["d"], o) for c, o in zip(CASES, orders)))


def context(parent: str, *others: str, score=None) -> MutationContext:
    views = [ProgramView(i + 2, code, {}) for i, code in enumerate(others)]
    return MutationContext(ProgramView(1, parent, {}), views, (), random.Random(0), score or TotalTardiness())


def test_blending_mdd_with_atc_finds_a_weight_better_than_both():
    score = TotalTardiness()
    [child] = BlendMutator().propose(context(MDD, ATC, score=score))
    mdd, atc, blended = score._score(MDD), score._score(ATC), score._score(child.code)
    assert blended < min(mdd, atc)
    assert child.mutator == "blend" and child.parent_ids == (1, 2) and "priority() of #1" in child.note
    assert check_intact(MDD, child.code) is None  # only the block changed
    # The parent and the middle weight first; the improve() hooks, which return orders, fail there and cost
    # one trial each.
    assert score.calls[0][0] == MDD and [len(c) for c in score.calls] in ([2, 10], [2, 1, 10])


def test_a_blend_is_a_tunable_literal_and_blends_again_without_name_clashes():
    [child] = BlendMutator().propose(context(MDD, ATC))
    assert "BLEND_1 = " in child.code and "_v1_priority" in child.code and "_w1_priority" in child.code

    def numbers_only(codes):  # the parent scores 1; a priority() blend 0.5; an improve() blend fails
        return [1.0 if code == child.code else None if "_v2_improve" in code else 0.5 for code in codes]

    grand = BlendMutator(weights=(0.5,)).propose(context(child.code, ATC, score=numbers_only))
    assert grand and "BLEND_2 = 0.5" in grand[0].code and "_v2_priority" in grand[0].code
    assert TotalTardiness._score(grand[0].code) is not None


def test_nothing_is_proposed_without_a_shared_function_or_when_no_weight_beats_the_parent():
    other = "# EVOLVE-BLOCK-START\ndef other(x):\n    return x\n# EVOLVE-BLOCK-END\n"
    assert BlendMutator().propose(context(MDD, other)) == []
    assert BlendMutator().propose(context(MDD)) == []
    assert BlendMutator().propose(context(MDD, ATC, score=lambda codes: [1.0] * len(codes))) == []


def test_a_function_whose_values_cannot_be_mixed_costs_one_trial():
    calls = []

    def fails_when_mixed(codes):
        calls.append(len(codes))
        return [1.0, None] if len(codes) == 2 else [None]

    assert BlendMutator().propose(context(MDD, ATC, score=fails_when_mixed)) == []
    assert calls == [2, 1]  # priority() and improve() each tried at one weight, nothing more
