"""Program code for the report: Python highlighted line by line, each distinct line stored once, and diffs.

Candidate code is hostile input. Every character of it leaves this module HTML-escaped; the only markup is
our own ``<span class=X>`` around tokens. Programs of a run share most of their lines (2,000 programs of a
long tardiness run have about 2,000 distinct lines in all), so highlighting is a small lexer that reads one
line at a time, knowing only whether the line starts inside a string: its results are cached by (state,
line), and the report keeps one table of distinct highlighted lines, each program being a list of indices
into it. The standard library's tokenizer needs the whole program and cost 3 ms per program; this costs a
dictionary lookup per line once a run's lines have been seen. Colours are what matters here, not parsing:
broken code is shown too, highlighted as far as it goes.
"""

from __future__ import annotations

import builtins
import difflib
import html
import keyword
import re

# Classes of the report's stylesheet: keyword, builtin, defined name, string, number, comment.
_BUILTINS = frozenset(name for name in dir(builtins) if not name.startswith("_"))
_KEYWORDS = frozenset(keyword.kwlist)
_TOKEN = re.compile(
    r"(?P<comment>#.*)"
    r"|(?P<string>(?<![\w])[rRbBuUfF]{0,2}(?:\"\"\"|\'\'\'|\"|\'))"
    r"|(?P<number>(?<![\w.])(?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?[jJ]?))"
    r"|(?P<name>[^\W\d]\w*)"
)
CONTEXT_LINES = 3
State = str  # "" outside strings, else the quote of the string the line starts in


def _lines(code: str) -> list[str]:
    """Lines split at ``\\n`` only (as Python reads source), without a last empty one."""
    lines = code.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def _string_end(line: str, start: int, quote: str) -> int:
    """Index just past the quote that closes a string whose body starts at ``start``; -1 when it goes on."""
    at = start
    while at < len(line):
        if line[at] == "\\":
            at += 2
        elif line.startswith(quote, at):
            return at + len(quote)
        else:
            at += 1
    return -1


def highlight_line(line: str, state: State = "") -> tuple[str, State]:
    """One line as HTML, and the state the next line starts in (inside a string, or not)."""
    parts: list[str] = []
    at = 0
    if state:  # the line continues a string
        end = _string_end(line, 0, state)
        if end < 0:
            goes_on = len(state) == 3 or line.endswith("\\")
            return _span("s", line), state if goes_on else ""
        parts.append(_span("s", line[:end]))
        at = end
    previous = ""
    while at < len(line):
        match = _TOKEN.search(line, at)
        if match is None:
            break
        parts.append(html.escape(line[at : match.start()], quote=False))
        kind, text = match.lastgroup, match.group()
        if kind == "string":
            quote = text.lstrip("rRbBuUfF")
            end = _string_end(line, match.end(), quote)
            if end < 0:  # open at the end of the line: a triple quote, or a continued one-line string
                goes_on = len(quote) == 3 or line.endswith("\\")
                parts.append(_span("s", line[match.start() :]))
                return "".join(parts), quote if goes_on else ""
            parts.append(_span("s", line[match.start() : end]))
            at = end
            continue
        css = {"comment": "c", "number": "m"}.get(kind, "")
        if kind == "name":
            css = (
                "f" if previous in ("def", "class") else "k" if text in _KEYWORDS else "b" if text in _BUILTINS else ""
            )
            previous = text
        parts.append(_span(css, text) if css else html.escape(text, quote=False))
        at = match.end()
    parts.append(html.escape(line[at:], quote=False))
    return "".join(parts), ""


def _span(css: str, text: str) -> str:
    return f"<span class={css}>{html.escape(text, quote=False)}</span>" if text else ""


def highlighted_lines(code: str) -> list[str]:
    """Each line of ``code`` as HTML: escaped text, with spans around keywords, strings, numbers, comments."""
    out, state = [], ""
    for line in _lines(code):
        shown, state = highlight_line(line, state)
        out.append(shown)
    return out


class LineTable:
    """Distinct highlighted lines of all programs of a report; a program is a list of indices into it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._index: dict[str, int] = {}
        self._seen: dict[tuple[State, str], tuple[int, State]] = {}

    def add(self, code: str) -> list[int]:
        """The indices of ``code``'s highlighted lines, adding the lines not seen before."""
        indices, state = [], ""
        for line in _lines(code):
            known = self._seen.get((state, line))
            if known is None:
                shown, after = highlight_line(line, state)
                index = self._index.get(shown)
                if index is None:
                    index = self._index[shown] = len(self.lines)
                    self.lines.append(shown)
                known = self._seen[state, line] = (index, after)
            indices.append(known[0])
            state = known[1]
        return indices


def diff_hunks(parent: str, child: str, context: int = CONTEXT_LINES) -> list[list[int]]:
    """The child's changes to its parent as hunks of ``[parent start, parent end, child start, child end, ...]``.

    Each hunk is a flat list: its parent and child line ranges (0-based, end exclusive), then for every
    stretch in it a triple ``op, first, last`` with op 0 for context (child lines), 1 for removed (parent
    lines) and 2 for added (child lines). The page draws them with the programs' highlighted lines.
    """
    matcher = difflib.SequenceMatcher(None, _lines(parent), _lines(child), autojunk=False)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        hunk = [group[0][1], group[-1][2], group[0][3], group[-1][4]]
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                hunk += [0, b1, b2]
            if tag in ("delete", "replace"):
                hunk += [1, a1, a2]
            if tag in ("insert", "replace"):
                hunk += [2, b1, b2]
        hunks.append(hunk)
    return hunks
