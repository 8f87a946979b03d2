import ast
import random

import pytest

from evolve.code_blocks import blocks, check_intact, normalized_hash
from evolve.mutator import MutationContext, ProgramView
from evolve.mutators.genetic import GeneticMutator, OperatorWeights

PARENT = '''"""Weighted tardiness: the job with the highest priority runs next."""
import math

LIMIT = 10  # outside the block: must never change


def priority(j, t, p, w, d, p_mean):
    # EVOLVE-BLOCK-START
    slack = max(d[j] - t - p[j], 0.0)  # time to spare
    k = 3.0
    urgency = math.exp(-slack / (k * p_mean))
    if slack < 0.5 * p_mean:
        urgency = urgency * 2
    return w[j] / p[j] * urgency + p[1] // 2
    # EVOLVE-BLOCK-END


def schedule(p, w, d):
    order, t = [], 0.0
    left = list(range(len(p)))
    while left:
        best = max(left, key=lambda j: priority(j, t, p, w, d, sum(p) / len(p)))
        left.remove(best)
        order.append(best)
        t += p[best]
    return order
'''

DONOR = PARENT.replace(
    "    return w[j] / p[j] * urgency + p[1] // 2\n",
    "    bonus = 1.5\n    return (w[j] + bonus) / (p[j] + d[j]) * urgency\n",
)

ONLY = {
    "arithmetic": OperatorWeights(1, 0, 0, 0, 0),
    "comparison": OperatorWeights(0, 1, 0, 0, 0),
    "variable": OperatorWeights(0, 0, 1, 0, 0),
    "crossover": OperatorWeights(0, 0, 0, 1, 0),
    "constant": OperatorWeights(0, 0, 0, 0, 1),
}


def no_score(codes):
    raise AssertionError("the genetic mutator must not score")


def context(seed: int, code: str = PARENT, inspirations=()) -> MutationContext:
    return MutationContext(
        parent=ProgramView(1, code, {"tardiness": 1.0}),
        inspirations=list(inspirations),
        objectives=(),
        rng=random.Random(seed),
        score=no_score,
    )


def run_schedule(code: str) -> list[int]:
    namespace: dict = {}
    exec(compile(code, "<child>", "exec"), namespace)
    return namespace["schedule"]([3.0, 1.0, 4.0, 2.0], [1.0, 2.0, 3.0, 1.5], [5.0, 3.0, 9.0, 4.0])


def children(weights: OperatorWeights, seeds=range(30), inspirations=(), code=PARENT, **options):
    mutator = GeneticMutator(weights=weights, **options)
    return [c for s in seeds for c in mutator.propose(context(s, code, inspirations))]


def test_children_parse_differ_and_keep_the_text_outside_blocks():
    donor = ProgramView(2, DONOR, {})
    found = children(OperatorWeights(), seeds=range(60), inspirations=[donor])
    assert len(found) == 60
    for child in found:
        ast.parse(child.code)
        assert normalized_hash(child.code) != normalized_hash(PARENT)
        assert check_intact(PARENT, child.code) is None
        assert child.mutator == "genetic" and child.parent_ids[0] == 1 and child.note


def test_same_seed_gives_the_same_child():
    donor = ProgramView(2, DONOR, {})
    first = [GeneticMutator().propose(context(s, inspirations=[donor])) for s in range(10)]
    second = [GeneticMutator().propose(context(s, inspirations=[donor])) for s in range(10)]
    assert first == second


@pytest.mark.parametrize(
    "operator, verbs",
    [
        ("arithmetic", ("swap",)),
        ("comparison", ("flip", "swap")),
        ("variable", ("replace",)),
        ("constant", ("scale", "negate")),
    ],
)
def test_each_operator_alone_produces_a_noted_child(operator, verbs):
    found = children(ONLY[operator], seeds=range(8))
    assert len(found) == 8
    assert all(child.note.startswith(verbs) and " in priority: line " in child.note for child in found)


def test_arithmetic_swap_note_names_the_operators():
    notes = {child.note.split(" in ")[0] for child in children(ONLY["arithmetic"])}
    allowed = {"swap + -> -", "swap - -> +", "swap * -> /", "swap / -> *", "swap // -> /", "swap // -> %"}
    assert notes <= allowed
    assert len(notes) > 2


def test_comparison_flip_also_swaps_max_and_min():
    codes = [child.code for child in children(ONLY["comparison"])]
    assert any("slack > 0.5 * p_mean" in code for code in codes)
    assert any("min(d[j] - t - p[j], 0.0)" in code for code in codes)


def runs_or_fails_arithmetically(code: str) -> bool:
    """Whether the child runs, allowing numeric failures (a zero divisor) but no type or name errors."""
    try:
        return sorted(run_schedule(code)) == [0, 1, 2, 3]
    except ArithmeticError:
        return True


def test_variable_replacement_keeps_roles_so_children_run():
    found = children(ONLY["variable"], seeds=range(40))
    assert len({child.code for child in found}) > 3
    for child in found:
        assert runs_or_fails_arithmetically(child.code)
        assert "math" in child.code and "t[" not in child.code and "k[" not in child.code


def test_variable_replacement_never_reads_a_local_before_it_is_assigned():
    for child in children(ONLY["variable"], seeds=range(40)):
        first_line = blocks(child.code)[0].splitlines()[0]
        assert "urgency" not in first_line and "k" not in first_line.replace("slack", "")


def test_constant_scaling_leaves_subscript_indices_and_guards_alone():
    code = PARENT.replace("w[j] / p[j]", "w[j] / max(p[j], 1e-09)")
    for child in children(ONLY["constant"], seeds=range(40), code=code):
        assert "p[1]" in child.code and "1e-09" in child.code


def test_negated_constant_keeps_its_precedence():
    code = "def f(x):\n    # EVOLVE-BLOCK-START\n    return 2.0 ** x\n    # EVOLVE-BLOCK-END\n"
    [child] = children(ONLY["constant"], seeds=[0], code=code, negate_chance=1.0)
    namespace: dict = {}
    exec(child.code, namespace)
    assert namespace["f"](2) == pytest.approx(4.0)
    assert "(-2.0) ** x" in child.code


def test_crossover_records_both_parents():
    donor = ProgramView(7, DONOR, {})
    found = children(ONLY["crossover"], seeds=range(20), inspirations=[donor])
    assert found
    for child in found:
        assert child.parent_ids == (1, 7)
        assert child.note.startswith("crossover from #7")


def test_crossover_only_brings_names_in_scope():
    donor = ProgramView(7, DONOR, {})
    for child in children(ONLY["crossover"], seeds=range(40), inspirations=[donor]):
        assert "bonus" not in child.code
        assert runs_or_fails_arithmetically(child.code)


def test_crossover_needs_an_inspiration_other_than_the_parent():
    assert children(ONLY["crossover"], seeds=range(5)) == []
    itself = ProgramView(1, DONOR, {})
    assert children(ONLY["crossover"], seeds=range(5), inspirations=[itself]) == []


def test_block_that_does_not_parse_alone_is_skipped():
    code = (
        "def f(x):\n"
        "    # EVOLVE-BLOCK-START\n"
        "    y = x * 2.0\n"
        "    # EVOLVE-BLOCK-END\n"
        "    if y > 0:\n"
        "        return y\n"
        "    # EVOLVE-BLOCK-START\n"
        "    else:\n"
        "        return -y\n"
        "    # EVOLVE-BLOCK-END\n"
    )
    found = children(OperatorWeights(), seeds=range(15), code=code)
    assert found
    assert all(blocks(child.code)[1] == blocks(code)[1] for child in found)


def test_nothing_to_change_gives_no_children():
    code = "def f():\n    # EVOLVE-BLOCK-START\n    pass\n    # EVOLVE-BLOCK-END\n"
    assert children(OperatorWeights(), seeds=range(3), code=code) == []
    assert children(OperatorWeights(), seeds=range(3), code="def f():\n    return 1.0\n") == []


def test_whole_function_inside_a_block_is_edited():
    code = (
        "# EVOLVE-BLOCK-START\n"
        "def priority(a, b):\n"
        "    c = a * 2.0\n"
        "    return c - b\n"
        "# EVOLVE-BLOCK-END\n"
        "RESULT = priority(1.0, 2.0)\n"
    )
    found = children(OperatorWeights(), seeds=range(10), code=code)
    assert len(found) == 10
    assert all(check_intact(code, child.code) is None for child in found)


def test_weights_must_leave_some_operator_switched_on():
    with pytest.raises(ValueError):
        GeneticMutator(weights=OperatorWeights(0, 0, 0, 0, 0))
    with pytest.raises(ValueError):
        GeneticMutator(weights=OperatorWeights(arithmetic=-1.0))
