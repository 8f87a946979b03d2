import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evolve.code_blocks import (
    BlockError,
    block_spans,
    blocks,
    check_intact,
    dedented,
    normalized_hash,
    reindented,
    replace_blocks,
    source_lines,
    unified_diff,
)

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """import math

# EVOLVE-BLOCK-START
SCALE = 2.0
# EVOLVE-BLOCK-END


def priority(j, t, p, w, d, p_mean):
    # EVOLVE-BLOCK-START
    slack = d[j] - t - p[j]  # how late
    return w[j] / p[j] * math.exp(-max(slack, 0.0) / (SCALE * p_mean))
    # EVOLVE-BLOCK-END


def run(jobs):
    return [priority(j, 0, jobs, jobs, jobs, 1.0) for j in range(len(jobs))]
"""


def test_block_spans_give_contents_between_markers():
    lines = source_lines(PROGRAM)
    spans = block_spans(PROGRAM)
    assert spans == [(3, 4), (9, 11)]
    assert lines[3] == "SCALE = 2.0\n"
    assert lines[9].strip().startswith("slack")


def test_indented_markers_are_markers():
    assert blocks(PROGRAM)[1].startswith("    slack")


@pytest.mark.parametrize(
    "code, problem",
    [
        ("x = 1\n", "no EVOLVE-BLOCK"),
        ("# EVOLVE-BLOCK-START\nx = 1\n", "never closed"),
        ("x = 1\n# EVOLVE-BLOCK-END\n", "without a matching"),
        ("# EVOLVE-BLOCK-START\n" * 2 + "# EVOLVE-BLOCK-END\n" * 2, "inside a block"),
    ],
)
def test_block_spans_reject_missing_unbalanced_and_nested_markers(code, problem):
    with pytest.raises(BlockError, match=problem):
        block_spans(code)


def test_marker_must_be_the_whole_line():
    code = "x = 1  # EVOLVE-BLOCK-START\n# EVOLVE-BLOCK-START\ny = 2\n# EVOLVE-BLOCK-END\n"
    assert blocks(code) == ["y = 2\n"]


def test_blocks_return_each_blocks_text_in_order():
    assert blocks(PROGRAM)[0] == "SCALE = 2.0\n"
    assert len(blocks(PROGRAM)) == 2


def test_replace_blocks_keeps_everything_outside():
    child = replace_blocks(PROGRAM, ["SCALE = 3.0", "    return 1.0\n"])
    assert blocks(child) == ["SCALE = 3.0\n", "    return 1.0\n"]
    assert check_intact(PROGRAM, child) is None
    assert child.endswith("return [priority(j, 0, jobs, jobs, jobs, 1.0) for j in range(len(jobs))]\n")


def test_replace_blocks_requires_the_same_number_of_blocks():
    with pytest.raises(BlockError, match="2"):
        replace_blocks(PROGRAM, ["SCALE = 3.0\n"])


def test_replace_blocks_accepts_an_empty_block():
    child = replace_blocks(PROGRAM, ["", blocks(PROGRAM)[1]])
    assert blocks(child) == ["", blocks(PROGRAM)[1]]


def test_check_intact_accepts_edit_inside_block():
    child = PROGRAM.replace("SCALE = 2.0", "SCALE = 2.5\nOFFSET = 1")
    assert check_intact(PROGRAM, child) is None


def test_check_intact_rejects_edit_outside_block():
    child = PROGRAM.replace("for j in range(len(jobs))", "for j in range(1)")
    reason = check_intact(PROGRAM, child)
    assert reason is not None and "range(1)" in reason


def test_check_intact_rejects_whitespace_change_outside_block():
    child = PROGRAM.replace("import math\n", "import math \n")
    assert check_intact(PROGRAM, child) is not None


def test_check_intact_rejects_added_or_removed_lines_outside_block():
    assert "added" in check_intact(PROGRAM, PROGRAM + "print('hi')\n")
    assert "removed" in check_intact(PROGRAM + "x = 1\n", PROGRAM)


def test_check_intact_rejects_a_different_number_of_blocks():
    child = PROGRAM + "# EVOLVE-BLOCK-START\nz = 0\n# EVOLVE-BLOCK-END\n"
    assert "3 EVOLVE-BLOCKs" in check_intact(PROGRAM, child)


def test_check_intact_reports_broken_child_markers_without_raising():
    child = PROGRAM.replace("    # EVOLVE-BLOCK-END\n", "", 1)
    assert "broken" in check_intact(PROGRAM, child)


def test_normalized_hash_ignores_comments_and_formatting():
    reformatted = PROGRAM.replace("# how late", "").replace("d[j] - t - p[j]", "d[ j ]-t-p[j]")
    assert normalized_hash(reformatted) == normalized_hash(PROGRAM)


def test_normalized_hash_changes_with_the_code():
    assert normalized_hash(PROGRAM.replace("2.0", "2.5")) != normalized_hash(PROGRAM)


def test_normalized_hash_ignores_where_the_code_sits_but_not_names_or_constants():
    shifted = "\n\n# a header\n" + PROGRAM.replace("def run(jobs):", "def run(jobs):  # entry\n\n")
    assert normalized_hash(shifted) == normalized_hash(PROGRAM)
    assert normalized_hash(PROGRAM.replace("slack", "room")) != normalized_hash(PROGRAM)
    assert normalized_hash(PROGRAM.replace("0.0)", "0)")) != normalized_hash(PROGRAM)  # 0 is not 0.0
    assert normalized_hash(PROGRAM.replace("max(", "min(")) != normalized_hash(PROGRAM)


def _hash_in_a_process(code: str, *options: str, seed: int = 0) -> subprocess.CompletedProcess:
    probe = f"from evolve.code_blocks import normalized_hash; print(normalized_hash({code!r}))"
    return subprocess.run(
        [sys.executable, *options, "-c", probe], env={**os.environ, "PYTHONHASHSEED": str(seed)},
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip


def test_normalized_hash_is_the_same_in_every_process():
    """Set constants iterate in string-hash order, which changes with each process's hash seed."""
    code = "def member(x):\n    return x in {'a', 'b', 'c', 'd', 1.5, (1, 'e')}\n"
    digests = {_hash_in_a_process(code, seed=seed).stdout.strip() for seed in (1, 2, 3)}
    assert digests == {normalized_hash(code)}


def test_code_that_warns_is_hashed_quietly_and_by_its_compiled_form():
    """Under ``-W error`` a warning that escaped the hash's filter would make the code hash as text."""
    code = "x = 1\nif x is 1:\n    s = '\\d'\n"
    moved = _hash_in_a_process("# moved\n\n" + code).stdout  # pytest's own warning filters replace ours here
    for options in (("-W", "error"), ("-W", "default")):
        hashed = _hash_in_a_process(code, *options)
        assert hashed.stdout == moved
        assert hashed.stderr == ""


def test_normalized_hash_of_unparsable_code_ignores_whitespace():
    broken = "def f(:\n    return  1\n"
    assert normalized_hash(broken) == normalized_hash("def   f(:\n return 1")
    assert normalized_hash(broken) != normalized_hash("def f(:\n    return 2\n")


def test_unified_diff_names_the_files_and_shows_the_change():
    diff = unified_diff(PROGRAM, PROGRAM.replace("2.0", "2.5"), "program 1", "program 2")
    assert "--- program 1" in diff and "+++ program 2" in diff
    assert "-SCALE = 2.0\n" in diff and "+SCALE = 2.5\n" in diff


def test_unified_diff_is_empty_for_equal_texts():
    assert unified_diff(PROGRAM, PROGRAM) == ""


def test_source_lines_match_ast_line_numbers_despite_form_feeds():
    code = "x = 1\n\x0c\n# EVOLVE-BLOCK-START\ny = 2.0\n# EVOLVE-BLOCK-END\n"
    ((first, _),) = block_spans(code)
    constant = next(n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Constant) and n.value == 2.0)
    assert constant.lineno - 1 == first


def test_dedented_and_reindented_round_trip_a_function_body():
    indent, text = dedented(blocks(PROGRAM)[1])
    assert indent == "    "
    ast.parse(text)
    assert reindented(text, indent) == blocks(PROGRAM)[1]
