"""All surgery on EVOLVE-BLOCKs: finding them, replacing them, and checking nothing else changed.

A program marks the code the search may change with lines whose stripped text is exactly
``# EVOLVE-BLOCK-START`` and ``# EVOLVE-BLOCK-END``. Everything outside the blocks, the markers included,
belongs to the researcher and must reach every child byte for byte.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import textwrap
import types
import warnings

# Hashing compiles candidate code in this process; its warnings ("is" with a literal, bad escapes) are the
# candidate's business, reported by its own evaluation, not lines in the run's output.
_HASHED_NAME = "<candidate>"
warnings.filterwarnings("ignore", module=re.escape(_HASHED_NAME))

START = "# EVOLVE-BLOCK-START"
END = "# EVOLVE-BLOCK-END"


class BlockError(ValueError):
    """A program whose EVOLVE-BLOCK markers are missing, unbalanced or nested."""


def block_spans(code: str) -> list[tuple[int, int]]:
    """Line index ranges ``(first, end)`` of each block's contents, markers excluded, in file order.

    Line indices count from 0 over ``source_lines(code)``; ``lines[first:end]`` is the block's contents.

    Raises:
        BlockError: when there is no block, a block is never closed, an end has no start, or blocks nest.
    """
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for index, line in enumerate(source_lines(code)):
        marker = line.strip()
        if marker == START:
            if open_at is not None:
                raise BlockError(f"line {index + 1}: {START} inside a block opened on line {open_at}")
            open_at = index + 1
        elif marker == END:
            if open_at is None:
                raise BlockError(f"line {index + 1}: {END} without a matching {START}")
            spans.append((open_at, index))
            open_at = None
    if open_at is not None:
        raise BlockError(f"line {open_at}: {START} is never closed by {END}")
    if not spans:
        raise BlockError(f"no EVOLVE-BLOCK: mark the code to evolve with {START} and {END} lines")
    return spans


def blocks(code: str) -> list[str]:
    """The text of each block's contents (every line ending in a newline), in file order."""
    lines = source_lines(code)
    return ["".join(_with_newline(line) for line in lines[first:end]) for first, end in block_spans(code)]


def replace_blocks(code: str, new_blocks: list[str]) -> str:
    """``code`` with each block's contents replaced by the matching text of ``new_blocks``.

    Raises:
        BlockError: when the program's blocks are malformed or ``new_blocks`` has a different count.
    """
    spans = block_spans(code)
    if len(new_blocks) != len(spans):
        raise BlockError(f"{len(new_blocks)} new blocks given for a program with {len(spans)}")
    lines = source_lines(code)
    # Splice from the last block back so earlier spans keep their line indices.
    for (first, end), text in reversed(list(zip(spans, new_blocks))):
        lines[first:end] = [_with_newline(line) for line in source_lines(text)]
    return "".join(lines)


def check_intact(parent_code: str, child_code: str) -> str | None:
    """Why the child's text outside its blocks differs from the parent's; None when it is identical.

    Lines are compared exactly, markers included, so an edit can never reach the researcher's driver.

    Raises:
        BlockError: when the parent's own blocks are malformed (the child's are reported as a reason).
    """
    parent_outside = _outside_segments(parent_code, block_spans(parent_code))
    try:
        child_spans = block_spans(child_code)
    except BlockError as exc:
        return f"child EVOLVE-BLOCK markers are broken: {exc}"
    if len(child_spans) != len(parent_outside) - 1:
        return f"child has {len(child_spans)} EVOLVE-BLOCKs, parent has {len(parent_outside) - 1}"
    child_outside = _outside_segments(child_code, child_spans)
    for parent_segment, child_segment in zip(parent_outside, child_outside):
        if parent_segment != child_segment:
            return _first_difference(parent_segment, child_segment)
    return None


def block_problem(parent_code: str, child_code: str) -> str | None:
    """``check_intact``'s reason, or why the child's markers cannot be read; None when the child is fine."""
    try:
        return check_intact(parent_code, child_code)
    except BlockError as exc:
        return f"EVOLVE-BLOCK markers broken: {exc}"


def normalized_hash(code: str) -> str:
    """SHA-256 hex digest of the program's compiled form, so comments, formatting and line numbers do not matter.

    The compiled form (bytecode, names, constants; CPython folds constant expressions and drops dead branches) is
    read in C, three times faster than walking a syntax tree, and serialized by ``_code_shape`` rather than by
    ``marshal``, whose output depends on reference counts. It depends on the Python version, as syntax-tree dumps
    did. A program that does not compile is hashed by its text with runs of whitespace collapsed.
    """
    try:
        canonical = "code:" + repr(_code_shape(compile(code, _HASHED_NAME, "exec", dont_inherit=True)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        canonical = "text:" + " ".join(code.split())
    return hashlib.sha256(canonical.encode()).hexdigest()


def _code_shape(code: types.CodeType) -> tuple:
    """Everything of a code object that decides what it does, without where it came from (file, lines)."""
    return (
        code.co_code, code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags,
        code.co_name, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
        getattr(code, "co_exceptiontable", b""), tuple(_constant_shape(c) for c in code.co_consts),
    )  # fmt: skip


def _constant_shape(value: object) -> object:
    if isinstance(value, types.CodeType):
        return _code_shape(value)
    if isinstance(value, tuple):
        return ("tuple", *(_constant_shape(v) for v in value))
    if isinstance(value, frozenset):  # its order follows string hashing, which changes from process to process
        return ("frozenset", *sorted(repr(_constant_shape(v)) for v in value))
    return (type(value).__name__, repr(value))


def unified_diff(old: str, new: str, old_name: str = "parent", new_name: str = "child") -> str:
    """A unified diff of two program texts, empty when they are equal."""
    old_lines = [_with_newline(line) for line in source_lines(old)]
    new_lines = [_with_newline(line) for line in source_lines(new)]
    return "".join(difflib.unified_diff(old_lines, new_lines, fromfile=old_name, tofile=new_name))


def source_lines(code: str) -> list[str]:
    """The lines of a program with their endings, split only where Python's tokenizer splits them.

    ``str.splitlines`` also splits at form feeds and other separators, which would put line numbers out of
    step with the line numbers ``ast`` reports.
    """
    return io.StringIO(code, newline="").readlines()


def dedented(block: str) -> tuple[str, str]:
    """The block's base indentation and its text with that indentation removed (ready for ``ast.parse``)."""
    text = textwrap.dedent(block)
    for original, stripped in zip(source_lines(block), source_lines(text)):
        if original.strip():
            return original[: len(original) - len(stripped)], text
    return "", text


def reindented(text: str, indent: str) -> str:
    """``text`` with ``indent`` put before each non-blank line, ending in a newline (inverse of dedented)."""
    lines = [indent + line if line.strip() else "" for line in text.splitlines()]
    return "".join(line + "\n" for line in lines)


def _with_newline(line: str) -> str:
    """The line ending in a newline (the last line of a file may lack one)."""
    return line if line.endswith(("\n", "\r")) else line + "\n"


def _outside_segments(code: str, spans: list[tuple[int, int]]) -> list[list[str]]:
    """The runs of lines before, between and after the blocks (markers included): one more than blocks."""
    lines = [line.rstrip("\r\n") for line in source_lines(code)]
    segments, start = [], 0
    for first, end in spans:
        segments.append(lines[start:first])
        start = end
    segments.append(lines[start:])
    return segments


def _first_difference(parent_lines: list[str], child_lines: list[str]) -> str:
    """A one-line description of where two runs of outside lines first differ."""
    for was, now in zip(parent_lines, child_lines):
        if was != now:
            return f"text outside EVOLVE-BLOCKs changed: {was!r} became {now!r}"
    if len(child_lines) > len(parent_lines):
        return f"line added outside EVOLVE-BLOCKs: {child_lines[len(parent_lines)].strip()!r}"
    return f"line removed outside EVOLVE-BLOCKs: {parent_lines[len(child_lines)].strip()!r}"
