import pytest

from evolve.code_blocks import blocks, check_intact
from evolve.llm.edits import Edit, EditError, apply_edits, apply_full_rewrite, parse_full_rewrite, parse_search_replace

PROGRAM = """import math

# EVOLVE-BLOCK-START
SCALE = 2.0
# EVOLVE-BLOCK-END


def priority(j, t, p, w, d, p_mean):
    # EVOLVE-BLOCK-START
    slack = d[j] - t - p[j]
    if slack > 0:
        return w[j] / p[j] * math.exp(-slack / (SCALE * p_mean))
    return w[j] / p[j]
    # EVOLVE-BLOCK-END


def run(jobs):
    return [priority(j, 0, jobs, jobs, jobs, 1.0) for j in range(len(jobs))]
"""


def applied(code: str, reply: str) -> str:
    """The child of ``code`` from a SEARCH/REPLACE reply, checked to keep the outside text intact."""
    child = apply_edits(code, parse_search_replace(reply))
    assert check_intact(code, child) is None
    return child


def edit_reply(search: str, replace: str, marks: int = 7) -> str:
    return f"{'<' * marks} SEARCH\n{search}{'=' * marks}\n{replace}{'>' * marks} REPLACE\n"


def test_exact_edit_is_applied_inside_the_block():
    child = applied(PROGRAM, edit_reply("SCALE = 2.0\n", "SCALE = 3.5\n"))
    assert blocks(child)[0] == "SCALE = 3.5\n"
    assert child == PROGRAM.replace("SCALE = 2.0", "SCALE = 3.5")


def test_two_edits_are_applied_in_order_the_second_seeing_the_first():
    reply = edit_reply("SCALE = 2.0\n", "SCALE = 3.0\n") + edit_reply("SCALE = 3.0\n", "SCALE = 4.0\n")
    assert blocks(applied(PROGRAM, reply))[0] == "SCALE = 4.0\n"


def test_edit_targeting_the_second_block_changes_only_that_block():
    reply = edit_reply("    return w[j] / p[j]\n", "    return 2 * w[j] / p[j]\n")
    child = applied(PROGRAM, reply)
    assert blocks(child)[0] == blocks(PROGRAM)[0]
    assert blocks(child)[1].endswith("    return 2 * w[j] / p[j]\n")


def test_loose_match_with_other_indentation_and_trailing_spaces_reindents_the_replacement():
    search = "if slack > 0:   \n    return w[j] / p[j] * math.exp(-slack / (SCALE * p_mean))\n"
    replace = "if slack > 1:\n    slack = slack - 1\n    return w[j] / p[j] * slack\n"
    child = applied(PROGRAM, edit_reply(search, replace))
    assert blocks(child)[1] == (
        "    slack = d[j] - t - p[j]\n"
        "    if slack > 1:\n"
        "        slack = slack - 1\n"
        "        return w[j] / p[j] * slack\n"
        "    return w[j] / p[j]\n"
    )


def test_loose_match_ignores_blank_lines_around_the_search():
    child = applied(PROGRAM, edit_reply("\n  SCALE = 2.0\n\n", "SCALE = 1.0\n"))
    assert blocks(child)[0] == "SCALE = 1.0\n"


def test_replacement_keeps_crlf_line_endings_of_the_program():
    code = PROGRAM.replace("\n", "\r\n")
    child = applied(code, edit_reply("SCALE = 2.0\n", "SCALE = 3.0\n"))
    assert child == code.replace("SCALE = 2.0", "SCALE = 3.0")


def test_empty_replacement_deletes_the_found_lines():
    child = applied(PROGRAM, edit_reply("    slack = d[j] - t - p[j]\n", ""))
    assert "slack = d[j]" not in child


def test_ambiguous_search_is_rejected_and_names_the_edit():
    reply = edit_reply("SCALE = 2.0\n", "SCALE = 3.0\n") + edit_reply("w[j] / p[j]\n", "x\n")
    code = PROGRAM.replace("    slack = d[j] - t - p[j]\n", "    w[j] / p[j]\n    w[j] / p[j]\n")
    with pytest.raises(EditError, match="SEARCH block 2 matches 2 places"):
        apply_edits(code, parse_search_replace(reply))


def test_search_matching_only_outside_the_blocks_is_rejected_as_outside():
    with pytest.raises(EditError, match="edits outside the EVOLVE-BLOCK are not allowed"):
        apply_edits(PROGRAM, parse_search_replace(edit_reply("import math\n", "import os\n")))


def test_search_spanning_a_marker_is_rejected():
    reply = edit_reply("SCALE = 2.0\n# EVOLVE-BLOCK-END\n", "SCALE = 3.0\n# EVOLVE-BLOCK-END\n")
    with pytest.raises(EditError, match="marker"):
        apply_edits(PROGRAM, parse_search_replace(reply))


def test_replacement_adding_a_marker_is_rejected():
    reply = edit_reply("SCALE = 2.0\n", "SCALE = 3.0\n# EVOLVE-BLOCK-END\nimport os\n")
    with pytest.raises(EditError, match="REPLACE block 1 includes an EVOLVE-BLOCK marker"):
        apply_edits(PROGRAM, parse_search_replace(reply))


def test_search_matching_nowhere_is_rejected_with_its_first_line():
    with pytest.raises(EditError, match="SEARCH block 1 does not match.*'SCALE = 9.0'"):
        apply_edits(PROGRAM, parse_search_replace(edit_reply("SCALE = 9.0\n", "SCALE = 3.0\n")))


def test_partial_line_does_not_match():
    with pytest.raises(EditError, match="does not match"):
        apply_edits(PROGRAM, [Edit("SCALE", "FACTOR")])


@pytest.mark.parametrize("search", ["", "\n  \n"])
def test_empty_search_is_rejected(search):
    with pytest.raises(EditError, match="SEARCH block 1 is empty"):
        apply_edits(PROGRAM, [Edit(search, "x = 1\n")])


@pytest.mark.parametrize(
    "reply, problem",
    [
        ("<<<<<<< SEARCH\nSCALE = 2.0\n=======\nSCALE = 3.0\n", "block 1 is not closed"),
        ("<<<<<<< SEARCH\nSCALE = 2.0\n", "block 1 is not closed"),
        ("<<<<<<< SEARCH\na\n=======\nb\n<<<<<<< SEARCH\n", "before the next SEARCH"),
        ("<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n", "no ======= line"),
        ("<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n", "more than one ======="),
        ("a\n=======\nb\n>>>>>>> REPLACE\n", "no <<<<<<< SEARCH"),
    ],
)
def test_malformed_search_replace_blocks_are_rejected(reply, problem):
    with pytest.raises(EditError, match=problem):
        parse_search_replace(reply)


def test_prose_and_fences_around_blocks_are_tolerated():
    reply = (
        "Idea\n=======\nRaise the scale so that slack weighs less.\n\n```python\n"
        + edit_reply("SCALE = 2.0\n", "SCALE = 3.0\n", marks=5)
        + "```\nAnd also:\n```\n"
        + edit_reply("    return w[j] / p[j]\n", "    return w[j]\n", marks=9)
        + "```\nThat is all.\n"
    )
    assert parse_search_replace(reply) == [
        Edit("SCALE = 2.0\n", "SCALE = 3.0\n"),
        Edit("    return w[j] / p[j]\n", "    return w[j]\n"),
    ]
    child = applied(PROGRAM, reply)
    assert blocks(child)[0] == "SCALE = 3.0\n"


def test_reply_without_blocks_gives_no_edits():
    assert parse_search_replace("I would rather not change anything.\n```python\nx = 1\n```\n") == []


def test_crlf_reply_is_parsed_to_plain_newlines():
    assert parse_search_replace(edit_reply("a\n", "b\n").replace("\n", "\r\n")) == [Edit("a\n", "b\n")]


def test_full_rewrite_without_markers_in_the_fences():
    reply = (
        "New scale:\n```python\nSCALE = 5.0\n```\nNew priority:\n```python\nif d[j] > t:\n"
        "    return w[j]\nreturn 0.0\n```\n"
    )
    new_blocks = parse_full_rewrite(reply, 2)
    assert new_blocks == ["SCALE = 5.0\n", "if d[j] > t:\n    return w[j]\nreturn 0.0\n"]
    child = apply_full_rewrite(PROGRAM, new_blocks)
    assert check_intact(PROGRAM, child) is None
    assert blocks(child) == ["SCALE = 5.0\n", "    if d[j] > t:\n        return w[j]\n    return 0.0\n"]


def test_full_rewrite_with_markers_in_the_fences_strips_them():
    reply = (
        "```python\n# EVOLVE-BLOCK-START\nSCALE = 5.0\n# EVOLVE-BLOCK-END\n```\n"
        "```py\n    # EVOLVE-BLOCK-START\n    return 1.0\n    # EVOLVE-BLOCK-END\n```\n"
    )
    new_blocks = parse_full_rewrite(reply, 2)
    assert new_blocks == ["SCALE = 5.0\n", "    return 1.0\n"]
    child = apply_full_rewrite(PROGRAM, new_blocks)
    assert check_intact(PROGRAM, child) is None
    assert blocks(child) == ["SCALE = 5.0\n", "    return 1.0\n"]


def test_full_rewrite_of_the_whole_program_takes_its_blocks():
    whole = PROGRAM.replace("SCALE = 2.0", "SCALE = 6.0")
    assert parse_full_rewrite(f"```python\n{whole}```\n", 2) == blocks(whole)


def test_full_rewrite_ignores_other_languages_when_python_fences_exist():
    reply = "```text\nnot code\n```\n```python\nSCALE = 1.0\n```\n"
    assert parse_full_rewrite(reply, 1) == ["SCALE = 1.0\n"]


@pytest.mark.parametrize("count", [1, 3])
def test_full_rewrite_with_the_wrong_number_of_fences_is_rejected(count):
    reply = "```python\nSCALE = 5.0\n```\n```python\nreturn 1.0\n```\n"
    with pytest.raises(EditError, match=f"expected {count} ```python fenced block"):
        parse_full_rewrite(reply, count)


def test_full_rewrite_with_an_unclosed_fence_is_rejected():
    with pytest.raises(EditError, match="never closed"):
        parse_full_rewrite("```python\nSCALE = 5.0\n", 1)


def test_full_rewrite_with_the_wrong_number_of_blocks_is_rejected():
    with pytest.raises(EditError, match="1 new block"):
        apply_full_rewrite(PROGRAM, ["SCALE = 1.0\n"])


def test_full_rewrite_smuggling_a_marker_is_rejected():
    with pytest.raises(EditError, match="outside the EVOLVE-BLOCKs"):
        apply_full_rewrite(PROGRAM, ["SCALE = 1.0\n# EVOLVE-BLOCK-END\nimport os\n", "return 1.0\n"])
