"""The verdict of a run: does what it discovered beat the best human baseline, on train and on held-out test?

A result is a program that beats the best shipped baseline on held-out data. For each objective the run selected
on, the frontier's best program on train is set against the best baseline of each split, and one line says
either "beats the best baseline (NAME) on train by X and on test by Y" or "does not beat NAME", with the figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evolve.archive.store import ProgramRecord
from problems.base import Objective

SPLITS = ("train", "test")


def _baseline_values(baselines: Mapping[str, Mapping[str, Any]], name: str, split: str) -> dict[str, float]:
    """The metrics of one baseline on one split, or {} where it was not scored or failed."""
    entry = baselines.get(name, {}).get(split, {})
    return entry.get("metrics", {}) if entry.get("status") == "ok" else {}


def _best_baseline(baselines: Mapping[str, Mapping[str, Any]], objective: Objective, split: str) -> tuple[str, float]:
    scored = {name: _baseline_values(baselines, name, split).get(objective.name) for name in baselines}
    scored = {name: value for name, value in scored.items() if value is not None}
    if not scored:
        return "", 0.0
    name = min(scored, key=lambda n: objective.oriented(scored[n]))
    return name, scored[name]


def _gain(objective: Objective, program: float, baseline: float) -> str:
    """How far ``program`` is ahead of ``baseline`` (behind when negative), in the objective's unit and relative."""
    ahead = baseline - program if objective.direction == "min" else program - baseline
    relative = f" ({ahead / abs(baseline):+.1%})" if baseline else ""
    unit = "points" if objective.unit == "%" else objective.unit  # a gap of 2% less is 2 points, not 2%
    return f"{ahead:+.4g}{unit and ' ' + unit}{relative}"


def verdict_lines(
    frontier: Sequence[ProgramRecord], objectives: Sequence[Objective], baselines: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """One line per objective (see the module's docstring); ``baselines`` is name -> split -> {status, metrics}."""
    lines = []
    for objective in objectives:
        best = {split: _best_baseline(baselines, objective, split) for split in SPLITS}
        scored = [p for p in frontier if objective.name in (p.metrics("train") or {})]
        if not best["train"][0] or not best["test"][0]:
            lines.append(f"{objective.name}: no baseline was scored on train and test, so there is nothing to beat")
            continue
        if not scored:
            lines.append(f"{objective.name}: no frontier program was scored on train; does not beat {best['test'][0]}")
            continue
        program = min(scored, key=lambda p: objective.oriented(p.metrics("train")[objective.name]))
        if program.mutator == "baseline":  # the run started from the baselines and found nothing better
            name = program.note.removeprefix("baseline ")
            lines.append(f"{objective.name}: does not beat {name} (the best program on train is {name} itself)")
            continue
        values = {split: (program.metrics(split) or {}).get(objective.name) for split in SPLITS}
        parts, wins = [], 0
        for split in SPLITS:
            name, baseline = best[split]
            if values[split] is None:
                parts.append(f"{split}: not scored (best baseline {name} {baseline:.4g})")
                continue
            value = values[split]
            wins += objective.oriented(value) < objective.oriented(baseline)
            parts.append(f"{split}: {value:.4g} against {name}'s {baseline:.4g}, {_gain(objective, value, baseline)}")
        names = best["train"][0] if best["train"][0] == best["test"][0] else f"{best['train'][0]} / {best['test'][0]}"
        head = f"beats the best baseline ({names})" if wins == len(SPLITS) else f"does not beat {names}"
        lines.append(f"{objective.name}: program {program.id} {head} ({'; '.join(parts)})")
    return lines
