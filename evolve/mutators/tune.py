"""The tune mutator: an Optuna study over the numeric literals inside a program's EVOLVE-BLOCKs.

Literals are edited where they stand (by the line and column ``ast`` reports), so every other character of
the program, comments included, is kept. Trials are scored in batches through the run's ``ScoreFn``, and
the first trial is the parent's own values, so parent and children are measured the same way.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from evaluators import ast_guard
from evolve.code_blocks import BlockError, block_spans, source_lines
from evolve.mutator import Candidate, MutationContext

Number = int | float
# Floats smaller than this in magnitude are guards against zero, not tunable parameters.
GUARD_BELOW = 1e-6


@dataclass(frozen=True)
class _Literal:
    """A numeric literal of the program that may be tuned.

    Attributes:
        line: 0-based line index in the program.
        start: UTF-8 byte offset of its first character in that line (as ``ast`` counts columns).
        end: UTF-8 byte offset just past it.
        value: its value.
        label: what the note calls it: the variable or keyword it sets, else its line number.
    """

    line: int
    start: int
    end: int
    value: Number
    label: str


class TuneMutator:
    """Tunes up to ``max_constants`` literals with TPE; proposes the best trial when it beats the parent."""

    name = "tune"

    def __init__(self, trials: int = 16, batch: int = 4, max_constants: int = 8):
        """
        Args:
            trials: trials per proposal, the parent's own values included.
            batch: trials scored per ``score`` call, so evaluations run in parallel; the number of calls is
                ``ceil(trials / batch)``.
            max_constants: at most this many literals (drawn at random) are tuned at once, since TPE needs
                more trials per dimension than a proposal can afford.
        """
        if trials < 1 or batch < 1 or max_constants < 1:
            raise ValueError("trials, batch and max_constants must all be at least 1")
        self.trials = trials
        self.batch = batch
        self.max_constants = max_constants

    def propose(self, context: MutationContext) -> list[Candidate]:
        """The parent with its best tuned literals, or [] when nothing beat the parent's own score."""
        parent = context.parent
        literals = _chosen(_literals(parent.code), self.max_constants, context.rng)
        if not literals:
            return []
        import optuna  # deferred: importing optuna costs about a second

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=context.rng.randrange(2**32), n_startup_trials=max(1, min(10, self.trials // 2))
        )
        study = optuna.create_study(direction="minimize", sampler=sampler)
        study.enqueue_trial({f"c{i}": _parameter(lit.value) for i, lit in enumerate(literals)})
        scored: list[tuple[float, str, list[Number]]] = []
        for size in _batch_sizes(self.trials, self.batch):
            trials = [study.ask() for _ in range(size)]
            values = [_trial_values(trial, literals) for trial in trials]
            codes = [_substituted(parent.code, literals, trial_values) for trial_values in values]
            results = context.score(codes)
            if len(results) != len(codes):
                raise ValueError(f"score returned {len(results)} results for {len(codes)} programs")
            for trial, code, trial_values, result in zip(trials, codes, values, results):
                score = _finite_or_inf(result)
                if math.isfinite(score):
                    study.tell(trial, score)
                else:
                    study.tell(trial, state=optuna.trial.TrialState.FAIL)
                scored.append((score, code, trial_values))
        original_score = scored[0][0]
        best_score, best_code, best_values = min(scored, key=lambda item: item[0])  # first of equals wins
        if not best_score < original_score or best_code == parent.code:
            return []
        note = _change_note(literals, best_values) + f" (score {original_score:.4g} -> {best_score:.4g})"
        return [Candidate(best_code, self.name, (parent.id,), note=note)]


def _literals(code: str) -> list[_Literal]:
    """The tunable numeric literals inside the program's blocks, in text order.

    Booleans, subscript indices, the arguments of ``range`` and numpy's axis and shape arguments are left out:
    changing them breaks programs far more often than it improves them. So are guard epsilons
    (``max(p, 1e-9)``), whose exact value does not matter and would only spend the study's trials.
    """
    try:
        spans = block_spans(code)
        tree = ast_guard.parse(code)
    except (BlockError, SyntaxError, ValueError):
        return []
    inside = {line for first, end in spans for line in range(first, end)}
    fixed = _fixed_constant_ids(tree)
    labels = _labels(tree)
    found = [
        _Literal(
            node.lineno - 1,
            node.col_offset,
            node.end_col_offset,
            node.value,
            labels.get(id(node), f"line {node.lineno}"),
        )
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and type(node.value) in (int, float)
        and math.isfinite(node.value)
        and not _is_guard(node.value)
        and id(node) not in fixed
        and node.lineno - 1 in inside
        and node.end_lineno == node.lineno
    ]
    return sorted(found, key=lambda lit: (lit.line, lit.start))


def _is_guard(value: Number) -> bool:
    """Whether a literal is a tiny float such as ``1e-9``, there to avoid a division by zero."""
    return isinstance(value, float) and 0 < abs(value) < GUARD_BELOW


# Keywords and methods whose integer arguments are array axes or shapes (numpy's), never tunable parameters.
_AXIS_KEYWORDS = frozenset({"axis", "axes", "axis1", "axis2", "ndmin"})
_SHAPE_METHODS = frozenset({"reshape", "transpose", "swapaxes", "repeat", "squeeze", "expand_dims"})


def _fixed_constant_ids(tree: ast.AST) -> set[int]:
    """Ids of the constants inside subscripts' index expressions, ``range(...)`` arguments, axis keywords
    (``axis=1``) and the arguments of shape methods (``.reshape(n, -1)``)."""
    fixed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            fixed.update(id(inner) for inner in ast.walk(node.slice))
        elif isinstance(node, ast.keyword) and node.arg in _AXIS_KEYWORDS:
            fixed.update(id(inner) for inner in ast.walk(node.value))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "range" or name in _SHAPE_METHODS:
                fixed.update(id(inner) for arg in node.args for inner in ast.walk(arg))
    return fixed


def _labels(tree: ast.AST) -> dict[int, str]:
    """Names for constants assigned straight to a variable (``K = 3.0``) or passed as a keyword (``k=2``)."""
    labels: dict[int, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            labels[id(node.value)] = node.targets[0].id
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            labels[id(node.value)] = node.target.id
        elif isinstance(node, ast.keyword) and node.arg is not None:
            labels[id(node.value)] = node.arg
    return labels


def _chosen(literals: list[_Literal], limit: int, rng: random.Random) -> list[_Literal]:
    """At most ``limit`` of the literals, drawn at random, in text order."""
    if len(literals) <= limit:
        return literals
    return [literals[i] for i in sorted(rng.sample(range(len(literals)), limit))]


def _batch_sizes(trials: int, batch: int) -> list[int]:
    """Sizes of the successive batches: full ones, then the remainder."""
    return [min(batch, trials - start) for start in range(0, trials, batch)]


def _parameter(value: Number) -> Number:
    """The Optuna parameter that reproduces ``value`` (floats are searched by magnitude, sign kept apart)."""
    return abs(value) if isinstance(value, float) and value != 0 else value


def _trial_values(trial, literals: Sequence[_Literal]) -> list[Number]:
    """The values a trial suggests for the literals, rounded as they will be written.

    A literal's own value is kept exactly, so the enqueued first trial reproduces the parent verbatim.
    """
    values = [_suggest(trial, f"c{i}", literal.value) for i, literal in enumerate(literals)]
    return [v if _same(v, lit.value) else _rounded(v) for v, lit in zip(values, literals)]


def _suggest(trial, name: str, value: Number) -> Number:
    """A trial's value for a literal: log-uniform within 4x for floats, v +- max(2, |v|) for ints.

    A float zero has no scale to keep, so it is searched uniformly in [-1, 1].
    """
    if isinstance(value, int):
        reach = max(2, abs(value))
        return trial.suggest_int(name, value - reach, value + reach)
    if value == 0:
        return trial.suggest_float(name, -1.0, 1.0)
    magnitude = trial.suggest_float(name, abs(value) / 4, abs(value) * 4, log=True)
    return math.copysign(magnitude, value)


def _substituted(code: str, literals: Sequence[_Literal], values: Sequence[Number]) -> str:
    """The program with each literal's text replaced by its new value; unchanged literals keep their text."""
    lines = source_lines(code)
    # Right to left within a line, so earlier byte offsets stay valid.
    for literal, value in sorted(zip(literals, values), key=lambda pair: (pair[0].line, -pair[0].start)):
        if not _same(value, literal.value):
            raw = lines[literal.line].encode()
            edited = raw[: literal.start] + _literal_text(value).encode() + raw[literal.end :]
            lines[literal.line] = edited.decode()
    return "".join(lines)


def _same(a: Number, b: Number) -> bool:
    """Whether two numbers are the same literal value (and type: 2 and 2.0 differ)."""
    return type(a) is type(b) and a == b


def _rounded(value: Number) -> Number:
    """A suggested value as it will be written: floats to 4 significant digits, which keeps code readable."""
    return value if isinstance(value, int) else float(f"{value:.4g}")


def _literal_text(value: Number) -> str:
    """Source text for a number; negatives are parenthesised so precedence holds (``x ** (-2.0)``)."""
    return f"({value!r})" if value < 0 else repr(value)


def _finite_or_inf(result: float | None) -> float:
    """A score as a float, with failures (None, NaN, infinities) as +inf."""
    if result is None or not math.isfinite(result):
        return math.inf
    return float(result)


def _change_note(literals: Sequence[_Literal], values: Sequence[Number]) -> str:
    """One line listing the literals that changed, ``label: old -> new``."""
    changes = [
        f"{literal.label}: {literal.value!r} -> {value!r}"
        for literal, value in zip(literals, values)
        if not _same(value, literal.value)
    ]
    return ", ".join(changes)
