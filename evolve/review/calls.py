"""Why a run's model calls failed, per model and kind, for the end-of-run summary, ``adrs watch`` and the report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from evolve.llm.roster import FAILED, failure


class Call(Protocol):
    model: str
    status: str
    detail: str  # "KIND: reason" for a failed call


def failure_rows(calls: Sequence[Call]) -> list[list[object]]:
    """(model, kind, failed calls, the latest reason) per model and failure kind, most frequent first."""
    counts: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], str] = {}
    for call in calls:
        if call.status != FAILED:
            continue
        kind, reason = failure(call.detail)
        key = (call.model, kind)
        counts[key] = counts.get(key, 0) + 1
        latest[key] = " ".join(reason.split())
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    return [[model, kind, counts[(model, kind)], latest[(model, kind)]] for model, kind in ranked]


def failure_lines(calls: Sequence[Call], width: int = 160) -> list[str]:
    """One line per model and kind of failure: ``MODEL: N failed calls (KIND), the latest: REASON``."""
    lines = []
    for model, kind, count, reason in failure_rows(calls):
        line = f"{model}: {count} failed call{'s' if count != 1 else ''} ({kind}), the latest: {reason}"
        lines.append(line if len(line) <= width else line[: width - 3] + "...")
    return lines
