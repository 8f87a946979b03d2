"""Turning an LLM's reply into a new program: SEARCH/REPLACE edits or whole EVOLVE-BLOCK rewrites.

Every failure raises ``EditError`` whose message is written for the model, so the caller can send it back
in a repair round. Every success keeps the text outside the blocks byte for byte (``check_intact``).
A unified diff of parent and child is ``code_blocks.unified_diff``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evolve import code_blocks
from evolve.code_blocks import END, START, BlockError

# Models miscount the marker characters now and then, so 5 to 9 of them are accepted.
_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w.+-]*)")
_PYTHON_TAGS = ("python", "python3", "py")


class EditError(ValueError):
    """A reply that cannot be turned into a program; the message says why, in words fit for the model."""


@dataclass(frozen=True)
class Edit:
    """One SEARCH/REPLACE edit.

    Attributes:
        search: lines to find inside an EVOLVE-BLOCK, each ending in a newline.
        replace: lines to put instead, each ending in a newline (empty deletes the found lines).
    """

    search: str
    replace: str


def parse_search_replace(reply: str) -> list[Edit]:
    """The SEARCH/REPLACE edits of ``reply`` in order; prose and code fences around them are ignored.

    Raises:
        EditError: when a block lacks its ``=======`` or ``>>>>>>> REPLACE`` line, or a REPLACE has no SEARCH.
    """
    edits: list[Edit] = []
    search: list[str] | None = None
    replace: list[str] | None = None
    for line in code_blocks.source_lines(reply):
        number = len(edits) + 1
        if _SEARCH.match(line):
            if search is not None:
                raise EditError(
                    f"SEARCH/REPLACE block {number} is not closed by >>>>>>> REPLACE before the next SEARCH"
                )
            search = []
        elif search is None:
            # A lone ======= in prose is a Markdown heading underline, so only a stray REPLACE is an error.
            if _REPLACE.match(line):
                raise EditError(f"a >>>>>>> REPLACE line after block {number - 1} has no <<<<<<< SEARCH line before it")
        elif _DIVIDER.match(line):
            if replace is not None:
                raise EditError(f"SEARCH/REPLACE block {number} has more than one ======= line")
            replace = []
        elif _REPLACE.match(line):
            if replace is None:
                raise EditError(f"SEARCH/REPLACE block {number} has no ======= line between SEARCH and REPLACE")
            edits.append(Edit(_joined(search), _joined(replace)))
            search, replace = None, None
        else:
            (search if replace is None else replace).append(line)
    if search is not None:
        raise EditError(f"SEARCH/REPLACE block {len(edits) + 1} is not closed by >>>>>>> REPLACE")
    return edits


def apply_edits(code: str, edits: Sequence[Edit]) -> str:
    """``code`` with each edit applied in turn, each only inside an EVOLVE-BLOCK.

    A search is first looked for exactly, as whole lines; failing that, with trailing whitespace ignored and
    indentation compared relative to its first line, in which case the replacement is re-indented to the
    indentation found. Either way it must match exactly one place.

    Raises:
        EditError: when a search is empty, spans a marker, matches nowhere, several places or only outside
            the blocks, or the result changed text outside the blocks.
        BlockError: when ``code`` itself has malformed markers (the researcher's error, not the model's).
    """
    child = code
    for number, edit in enumerate(edits, start=1):
        child = _applied(child, edit, number)
    reason = code_blocks.check_intact(code, child)
    if reason is not None:
        raise EditError(f"the edits changed text outside the EVOLVE-BLOCKs ({reason}); edit only inside them")
    return child


def parse_full_rewrite(reply: str, block_count: int) -> list[str]:
    """The new contents of each EVOLVE-BLOCK, one per fenced python block of ``reply``, in order.

    A fence holding marker lines contributes what lies between them, so a model that repeats the markers,
    or returns the whole program, still gives the right contents.

    Raises:
        EditError: when a fence is never closed, its markers are broken, or the count is not ``block_count``.
    """
    contents: list[str] = []
    for text in _python_fences(reply):
        if any(line.strip() in (START, END) for line in code_blocks.source_lines(text)):
            try:
                contents.extend(code_blocks.blocks(text))
            except BlockError as exc:
                raise EditError(f"the EVOLVE-BLOCK markers inside a fenced block are broken: {exc}") from None
        else:
            contents.append(text)
    if len(contents) != block_count:
        raise EditError(
            f"expected {block_count} ```python fenced block(s), one per EVOLVE-BLOCK in order, found {len(contents)}"
        )
    return contents


def apply_full_rewrite(code: str, new_blocks: Sequence[str]) -> str:
    """``code`` with each block's contents replaced by ``new_blocks``, re-indented to the block's base indentation.

    Raises:
        EditError: when the count differs from the program's blocks or the result changed text outside them.
        BlockError: when ``code`` itself has malformed markers.
    """
    old_blocks = code_blocks.blocks(code)
    if len(new_blocks) != len(old_blocks):
        raise EditError(f"{len(new_blocks)} new block(s) given for a program with {len(old_blocks)} EVOLVE-BLOCK(s)")
    indented = [
        code_blocks.reindented(code_blocks.dedented(new)[1], code_blocks.dedented(old)[0])
        for old, new in zip(old_blocks, new_blocks)
    ]
    child = code_blocks.replace_blocks(code, indented)
    reason = code_blocks.check_intact(code, child)
    if reason is not None:
        raise EditError(f"the new blocks changed text outside the EVOLVE-BLOCKs ({reason}); leave out the markers")
    return child


def _applied(code: str, edit: Edit, number: int) -> str:
    """``code`` with one edit applied inside its blocks."""
    search = _lines(edit.search)
    replace = _lines(edit.replace)
    if not any(line.strip() for line in search):
        raise EditError(f"SEARCH block {number} is empty; it must copy existing lines from inside an EVOLVE-BLOCK")
    if _has_marker(search):
        raise EditError(f"SEARCH block {number} includes an EVOLVE-BLOCK marker line; edit only the lines between them")
    if _has_marker(replace):
        raise EditError(
            f"REPLACE block {number} includes an EVOLVE-BLOCK marker line; markers cannot be added or moved"
        )
    lines = code_blocks.source_lines(code)
    inside = [start for first, end in code_blocks.block_spans(code) for start in range(first, end)]
    search, replace, starts = _located(lines, inside, search, replace)
    if len(starts) > 1:
        raise EditError(
            f"SEARCH block {number} matches {len(starts)} places inside the EVOLVE-BLOCKs; "
            "include more surrounding lines so that it matches exactly one"
        )
    if not starts:
        raise EditError(_unmatched_reason(lines, search, number))
    start = starts[0]
    window = lines[start : start + len(search)]
    # Keep the program's own line endings, so a CRLF file does not come back with mixed ones.
    ending = "\r\n" if window[0].endswith("\r\n") else "\n"
    lines[start : start + len(search)] = [line.rstrip("\r\n") + ending for line in replace]
    return "".join(lines)


def _located(
    lines: list[str], inside: list[int], search: list[str], replace: list[str]
) -> tuple[list[str], list[str], list[int]]:
    """The search and replacement as they will be used, and the line indices in ``inside`` where they match.

    An exact match wins; otherwise the loose one, whose replacement is re-indented to the place it found.
    """
    starts = [start for start in inside if lines[start : start + len(search)] == search]
    if starts:
        return search, replace, starts
    # Loose matching also ignores blank lines around the search, which models add or drop freely.
    search = _trimmed(search)
    starts = [start for start in inside if _loosely_equal(lines[start : start + len(search)], search)]
    if len(starts) == 1:
        replace = _shifted(replace, _indent(search), _indent(lines[starts[0] : starts[0] + len(search)]))
    return search, replace, starts


def _unmatched_reason(lines: list[str], search: list[str], number: int) -> str:
    """Why a search found nothing inside the blocks: it matched only outside them, or nowhere at all."""
    anywhere = range(len(lines) - len(search) + 1)
    if any(_loosely_equal(lines[start : start + len(search)], search) for start in anywhere):
        return (
            f"SEARCH block {number} matches only text outside the EVOLVE-BLOCKs; "
            "edits outside the EVOLVE-BLOCK are not allowed"
        )
    return (
        f"SEARCH block {number} does not match any text inside an EVOLVE-BLOCK; it must copy existing lines "
        f"exactly (its first line is {search[0].strip()!r})"
    )


def _loosely_equal(window: list[str], search: list[str]) -> bool:
    """Whether two runs of lines are equal once trailing whitespace and their base indentation are removed."""
    return len(window) == len(search) and _shape(window) == _shape(search)


def _shape(lines: list[str]) -> list[str]:
    """The lines without their common indentation and trailing whitespace."""
    return [line.rstrip() for line in code_blocks.dedented("".join(lines))[1].splitlines()]


def _indent(lines: list[str]) -> str:
    """The base indentation of a run of lines."""
    return code_blocks.dedented("".join(lines))[0]


def _shifted(lines: list[str], old: str, new: str) -> list[str]:
    """``lines`` with the indentation ``old`` replaced by ``new``, keeping each line's indentation relative to it."""
    shifted = []
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip():
            shifted.append("\n")
        elif body.startswith(old):
            shifted.append(new + body[len(old) :] + "\n")
        else:
            # A line less indented than the search's base: shift it by the same width, never below column 0.
            indent = body[: len(body) - len(body.lstrip())]
            width = max(0, _width(indent) - _width(old) + _width(new))
            shifted.append(" " * width + body.lstrip() + "\n")
    return shifted


def _width(indent: str) -> int:
    """The column an indentation reaches, tabs stopping every 8 columns as in Python's tokenizer."""
    return len(indent.expandtabs(8))


def _trimmed(lines: list[str]) -> list[str]:
    """``lines`` without leading and trailing blank lines."""
    filled = [index for index, line in enumerate(lines) if line.strip()]
    return lines[filled[0] : filled[-1] + 1] if filled else []


def _has_marker(lines: list[str]) -> bool:
    """Whether any line is an EVOLVE-BLOCK marker."""
    return any(line.strip() in (START, END) for line in lines)


def _lines(text: str) -> list[str]:
    """The lines of ``text``, each ending in a newline."""
    return [line.rstrip("\r\n") + "\n" for line in code_blocks.source_lines(text)]


def _joined(lines: list[str]) -> str:
    """One text from lines of a reply, each ending in a plain newline."""
    return "".join(_lines("".join(lines)))


def _python_fences(reply: str) -> list[str]:
    """The contents of the reply's python fences, or of its untagged fences when none is tagged python."""
    fences: list[tuple[str, str]] = []
    opened: tuple[str, str, list[str]] | None = None
    for line in code_blocks.source_lines(reply):
        match = _FENCE.match(line)
        if opened is None:
            if match:
                opened = (match.group(1), match.group(2).lower(), [])
        elif match and line.strip() == match.group(1) and match.group(1).startswith(opened[0]):
            fences.append((opened[1], "".join(opened[2])))
            opened = None
        else:
            opened[2].append(line)
    if opened is not None:
        raise EditError("a fenced code block is never closed by ```; the reply may have been cut off")
    tagged = [text for tag, text in fences if tag in _PYTHON_TAGS]
    return tagged or [text for tag, text in fences if not tag]
