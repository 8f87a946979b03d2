import random

from evolve.llm.prompt import PromptTemplates, build_messages, format_groups, repair_message
from evolve.mutator import MutationContext, ProgramView
from problems import registry

PARENT = """import math

# EVOLVE-BLOCK-START
def priority(p, w):
    return w / p
# EVOLVE-BLOCK-END


def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: -priority(p[j], w[j]))
"""


def context(**changes) -> MutationContext:
    problem = registry.load("tardiness")
    parent = ProgramView(
        7,
        PARENT,
        {"gap": 12.5, "time_ms": 0.2},
        {"n20-TF0.2-RDD0.2": {"gap": 1.0, "time_ms": 0.1}, "n20-TF0.8-RDD0.2": {"gap": 30.0, "time_ms": 0.3}},
        "gap = 12.5%; slowest: train-003 0.4 ms",
    )
    inspiration = ProgramView(9, PARENT.replace("w / p", "w / p ** 2"), {"gap": 3.0, "time_ms": 0.5})
    values = dict(
        parent=parent,
        inspirations=[inspiration],
        objectives=problem.objectives,
        rng=random.Random(0),
        score=lambda codes: [None] * len(codes),
    )
    values.update(changes)
    return MutationContext(**values)


def test_the_prompt_shows_problem_parent_results_feedback_and_inspirations():
    spec = registry.load("tardiness").spec
    (system_role, system), (user_role, user) = build_messages(PromptTemplates.load(), spec, context())
    assert (system_role, user_role) == ("system", "user")
    assert "1||sum w_j T_j" in system and "schedule(...)" in system and "2 s per instance" in system
    assert "gap in % (lower is better)" in system
    assert PARENT.strip() in user and "gap = 12.5 %" in user
    assert user.index("n20-TF0.8-RDD0.2") < user.index("n20-TF0.2-RDD0.2"), "worst class first"
    assert "slowest: train-003" in user
    assert "## Program 9: gap = 3 %" in user and "w / p ** 2" in user and "def schedule" not in user.split("# Other")[1]
    assert "<<<<<<< SEARCH" in user and "$" not in user


def test_rewrite_mode_asks_for_whole_blocks():
    spec = registry.load("tardiness").spec
    _, (_, user) = build_messages(PromptTemplates.load(), spec, context(), mode="rewrite")
    assert "1 block(s) expected" in user and "SEARCH" not in user


def test_a_folder_of_custom_templates_overrides_only_what_it_holds(tmp_path):
    (tmp_path / "repair.txt").write_text("Fix this: $error")
    templates = PromptTemplates.load(tmp_path)
    assert repair_message(templates, "no match") == ("user", "Fix this: no match")
    assert templates.system == PromptTemplates.load().system


def test_group_listing_is_capped_and_says_how_many_were_left_out():
    objectives = registry.load("tardiness").objectives
    groups = {f"class-{i}": {"gap": float(i)} for i in range(12)}
    text = format_groups(groups, objectives, limit=3)
    assert text.splitlines()[0].startswith("- class-11") and "9 more classes" in text
