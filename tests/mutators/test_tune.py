import ast
import math
import random

from evolve.code_blocks import blocks, check_intact
from evolve.mutator import MutationContext, ProgramView
from evolve.mutators.tune import TuneMutator

PARENT = '''"""A toy program whose best knob is 1.5."""
# a comment outside the block

SHIFT = 0.25  # outside: never tuned


def knob():
    # EVOLVE-BLOCK-START
    label = "ß"; k = 3.0  # the knob, after a non-ASCII string
    return k
    # EVOLVE-BLOCK-END


VALUE = knob()
'''


class Scorer:
    """A fake ScoreFn: runs each program in-process and scores (VALUE - 1.5) ** 2, recording calls."""

    def __init__(self, fail_unless_parent: bool = False):
        self.calls: list[list[str]] = []
        self.fail_unless_parent = fail_unless_parent

    def __call__(self, codes):
        self.calls.append(list(codes))
        return [self._score(code) for code in codes]

    def _score(self, code: str) -> float | None:
        if self.fail_unless_parent and code != self.calls[0][0]:
            return None
        namespace: dict = {}
        exec(compile(code, "<trial>", "exec"), namespace)
        return (namespace["VALUE"] - 1.5) ** 2


def context(code: str, score, seed: int = 0) -> MutationContext:
    return MutationContext(ProgramView(4, code, {}), [], (), random.Random(seed), score)


def value_of(code: str):
    namespace: dict = {}
    exec(code, namespace)
    return namespace["VALUE"]


def test_tune_moves_the_constant_towards_the_optimum():
    scorer = Scorer()
    [child] = TuneMutator(trials=24, batch=4).propose(context(PARENT, scorer))
    assert abs(value_of(child.code) - 1.5) < abs(3.0 - 1.5)
    assert child.mutator == "tune" and child.parent_ids == (4,)
    assert child.note.startswith("k: 3.0 -> ")


def test_tune_scores_in_ceil_trials_over_batch_calls():
    scorer = Scorer()
    TuneMutator(trials=10, batch=4).propose(context(PARENT, scorer))
    assert [len(call) for call in scorer.calls] == [4, 4, 2]


def test_first_trial_is_the_parent_itself():
    scorer = Scorer()
    TuneMutator(trials=4, batch=2).propose(context(PARENT, scorer))
    assert scorer.calls[0][0] == PARENT


def test_first_trial_keeps_literals_with_many_digits_verbatim():
    code = PARENT.replace("k = 3.0", "k = 3.14159265 - 0")
    scorer = Scorer()
    TuneMutator(trials=4, batch=2).propose(context(code, scorer))
    assert scorer.calls[0][0] == code


def test_tune_keeps_comments_and_text_around_the_literal():
    [child] = TuneMutator(trials=24, batch=4).propose(context(PARENT, Scorer()))
    assert check_intact(PARENT, child.code) is None
    changed = [(a, b) for a, b in zip(PARENT.splitlines(), child.code.splitlines()) if a != b]
    assert len(changed) == 1
    was, now = changed[0]
    assert now.startswith('    label = "ß"; k = ') and now.endswith("  # the knob, after a non-ASCII string")


def test_tune_returns_nothing_when_the_parent_is_already_best():
    code = PARENT.replace("k = 3.0", "k = 1.5")
    assert TuneMutator(trials=12, batch=4).propose(context(code, Scorer())) == []


def test_tune_without_constants_returns_nothing_and_scores_nothing():
    code = "def f(x):\n    # EVOLVE-BLOCK-START\n    return x\n    # EVOLVE-BLOCK-END\n"
    scorer = Scorer()
    assert TuneMutator().propose(context(code, scorer)) == []
    assert scorer.calls == []


def test_failed_trials_count_as_infinitely_bad():
    assert TuneMutator(trials=8, batch=4).propose(context(PARENT, Scorer(fail_unless_parent=True))) == []


def test_any_working_trial_beats_a_failing_parent():
    def score(codes):
        return [None if code == PARENT else 1.0 for code in codes]

    assert len(TuneMutator(trials=4, batch=4).propose(context(PARENT, score))) == 1


def test_indices_range_arguments_and_booleans_are_not_tuned():
    code = (
        "def f(p):\n"
        "    # EVOLVE-BLOCK-START\n"
        "    total = sum(p[0] * 2.5 for _ in range(3) if True)\n"
        "    return total\n"
        "    # EVOLVE-BLOCK-END\n"
        "VALUE = f([0.2])\n"
    )
    scorer = Scorer()
    TuneMutator(trials=8, batch=4).propose(context(code, scorer))
    for trial in scorer.calls[0] + scorer.calls[1]:
        assert "p[0] *" in trial and "range(3) if True" in trial


def test_numpy_axis_and_shape_arguments_are_not_tuned():
    code = (
        "import numpy as np\n"
        "def f(x):\n"
        "    # EVOLVE-BLOCK-START\n"
        "    a = np.asarray(x).reshape(2, -1).sum(axis=1).repeat(2, 0)\n"
        "    return float(a.max()) * 0.5\n"
        "    # EVOLVE-BLOCK-END\n"
        "VALUE = f([1.0, 2.0, 3.0, 4.0])\n"
    )
    scorer = Scorer()
    TuneMutator(trials=8, batch=4).propose(context(code, scorer))
    trials = [trial for call in scorer.calls for trial in call]
    assert all("reshape(2, -1).sum(axis=1).repeat(2, 0)" in trial for trial in trials)
    assert len({trial.split("* ")[1].split("\n")[0] for trial in trials}) > 1  # the real knob is tuned


def test_at_most_max_constants_change_per_trial():
    lines = "".join(f"    c{i} = {i + 1}.0\n" for i in range(10))
    start, end = "def f():\n    # EVOLVE-BLOCK-START\n", "    return c0 + c9\n    # EVOLVE-BLOCK-END\n"
    code = start + lines + end + "VALUE = f()\n"
    scorer = Scorer()
    TuneMutator(trials=8, batch=4, max_constants=3).propose(context(code, scorer))
    changed_lines = set()
    for trial in scorer.calls[0] + scorer.calls[1]:
        changed_lines |= {i for i, (a, b) in enumerate(zip(code.splitlines(), trial.splitlines())) if a != b}
    assert 0 < len(changed_lines) <= 3


def test_integers_stay_integers_and_negatives_keep_precedence():
    code = (
        "def f():\n"
        "    # EVOLVE-BLOCK-START\n"
        "    n = 5\n"
        "    return 2.0 ** 0.0 + n\n"
        "    # EVOLVE-BLOCK-END\n"
        "VALUE = f()\n"
    )
    scorer = Scorer()
    TuneMutator(trials=16, batch=8).propose(context(code, scorer))
    for trial in scorer.calls[0] + scorer.calls[1]:
        block = ast.parse(blocks(trial)[0].strip().splitlines()[0])
        assert isinstance(block.body[0].value.value, int)
        namespace: dict = {}
        exec(trial, namespace)
        assert math.isfinite(namespace["VALUE"])


def test_same_seed_gives_the_same_child():
    first = TuneMutator(trials=12, batch=4).propose(context(PARENT, Scorer(), seed=3))
    second = TuneMutator(trials=12, batch=4).propose(context(PARENT, Scorer(), seed=3))
    assert first == second


def test_guard_epsilons_are_not_tuned():
    code = PARENT.replace("return k", "return k / max(k, 1e-9)")
    scorer = Scorer()
    TuneMutator(trials=8, batch=4).propose(context(code, scorer))
    assert all("max(k, 1e-9)" in trial for call in scorer.calls for trial in call)
