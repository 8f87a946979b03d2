"""Instances of 1||Σw_jT_j: the OR-Library generator recipe and loaders for two public file formats.

Every instance's ``data`` is ``{"p": [...], "w": [...], "d": [...]}`` of plain Python ints.

Generator: Potts & Van Wassenhove's recipe as used for OR-Library's ``wt40/wt50/wt100``: p_j ~ U{1..100},
w_j ~ U{1..10}, d_j ~ U{P(1-TF-RDD/2) .. P(1-TF+RDD/2)} with P = Σp_j, clipped at 0 (OR-Library due dates
are never negative). Users download the originals from http://people.brunel.ac.uk/~mastjjb/jeb/orlib/wtinfo.html
and the unweighted sets of arXiv:2510.24013 from github.com/ibrahimoguzc/DiscoverHeuristics.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import Instance, ProblemError, is_finite_number

TARDINESS_FACTORS = (0.2, 0.4, 0.6, 0.8, 1.0)
DUE_DATE_RANGES = (0.2, 0.4, 0.6, 0.8, 1.0)


def generate(n: int, tf: float, rdd: float, seed: int, weighted: bool = True) -> dict[str, list[int]]:
    """One instance's data from the OR-Library recipe, identical on every machine for the same arguments."""
    if n < 1:
        raise ProblemError(f"an instance needs at least one job, got n={n}")
    rng = np.random.default_rng(seed)
    p = rng.integers(1, 101, n)
    # Weights are drawn even when unused so the weighted and unweighted versions share p and d.
    w = rng.integers(1, 11, n)
    if not weighted:
        w = np.ones(n, np.int64)
    total = int(p.sum())
    # Exact fractions: 1 - 0.6 - 0.2 in floats is not 0.2, and that would move a bound by one on some P.
    tf_, rdd_ = Fraction(str(tf)), Fraction(str(rdd))
    low = math.ceil(total * (1 - tf_ - rdd_ / 2))
    high = max(math.floor(total * (1 - tf_ + rdd_ / 2)), low)
    d = np.maximum(rng.integers(low, high + 1, n), 0)
    return {"p": [int(x) for x in p], "w": [int(x) for x in w], "d": [int(x) for x in d]}


def group_label(n: int, tf: float, rdd: float) -> str:
    """The class label of a generated instance, e.g. ``n20-TF0.6-RDD0.4``."""
    return f"n{n}-TF{float(tf)}-RDD{float(rdd)}"


def generated_instance(instance_id: str, n: int, tf: float, rdd: float, seed: int, weighted: bool = True) -> Instance:
    """A generated instance with its class label."""
    return Instance(instance_id, group_label(n, tf, rdd), generate(n, tf, rdd, seed, weighted))


def _integers(path: Path) -> list[int]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from exc
    values = []
    for token in text.split():
        try:
            values.append(int(token))
        except ValueError:
            raise ProblemError(f"{path}: {token[:20]!r} is not an integer") from None
    return values


def jobs_from_name(path: Path) -> int:
    """The job count written in an OR-Library file name (``wt40.txt`` -> 40)."""
    runs = re.findall(r"\d+", path.stem)
    if len(runs) != 1 or int(runs[0]) < 1:
        raise ProblemError(
            f"{path}: cannot tell the number of jobs from the file name: name it as OR-Library does, with the "
            "job count as its only number (wt40.txt, wt100.txt)"
        )
    return int(runs[0])


def read_reference_values(path: Path) -> list[float]:
    """One reference objective value per non-blank line."""
    try:
        lines = path.read_text().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from exc
    values = []
    for number, token in enumerate(lines, 1):
        try:
            value = float(token)
        except ValueError:
            raise ProblemError(f"{path}: value {number} ({token[:20]!r}) is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ProblemError(f"{path}: value {number} ({token[:20]!r}) is not a finite non-negative number")
        values.append(value)
    return values


def load_orlib(path: Path, n: int | None = None, reference_path: Path | None = None) -> list[Instance]:
    """Instances of an OR-Library weighted-tardiness file (``wt40``, ``wt50``, ``wt100``).

    The file is a stream of integers: for each instance n processing times, n weights, n due dates.
    ``reference_path``, when given, holds one best-known value per instance, in the same order.
    """
    path = Path(path)
    n = jobs_from_name(path) if n is None else n
    if n < 1:
        raise ProblemError(f"{path}: the number of jobs must be positive, got {n}")
    numbers = _integers(path)
    if not numbers or len(numbers) % (3 * n):
        raise ProblemError(f"{path}: {len(numbers)} numbers is not a positive multiple of 3n = {3 * n} (n = {n} jobs)")
    instances = []
    for k in range(len(numbers) // (3 * n)):
        chunk = numbers[3 * n * k : 3 * n * (k + 1)]
        p, w, d = chunk[:n], chunk[n : 2 * n], chunk[2 * n :]
        _check_jobs(path, f"instance {k + 1}", p, w)
        instances.append(Instance(f"{path.stem}-{k + 1:03d}", f"n{n}", {"p": p, "w": w, "d": d}))
    if reference_path is not None:
        instances = with_references(instances, read_reference_values(Path(reference_path)), Path(reference_path))
    return instances


def with_references(instances: list[Instance], values: list[float], source: Path) -> list[Instance]:
    """The instances with best-known values attached in order; ``source`` names the file in errors."""
    if len(values) != len(instances):
        raise ProblemError(f"{source}: {len(values)} reference values for {len(instances)} instances")
    return [replace(inst, reference=v, reference_kind="best-known") for inst, v in zip(instances, values)]


def _check_jobs(path: Path, where: str, p: list[int], w: list[int]) -> None:
    """The problem's domain (problem.toml): p[j] >= 1, w[j] >= 1; any integer due date (published sets hold
    negative ones: such a job is late whatever the order)."""
    for name, values, least in (("processing time", p, 1), ("weight", w, 1)):
        job = next((j for j, x in enumerate(values) if x < least), None)
        if job is not None:
            needs = f"the problem needs >= {least}"
            raise ProblemError(f"{path}: {where} gives job {job} the {name} {values[job]}; {needs}")


def _int_list(value: Any, n: int, path: Path, where: str) -> list[int]:
    if not isinstance(value, list) or len(value) != n:
        raise ProblemError(f"{path}: {where} must be a list of {n} integers")
    out = []
    for x in value:
        # JSON writers sometimes emit 12.0 for 12; accept integral numbers, nothing else.
        if not is_finite_number(x) or x != int(x):
            raise ProblemError(f"{path}: {where} holds {str(x)[:20]!r}, not an integer")
        out.append(int(x))
    return out


def load_smtt_json(path: Path) -> list[Instance]:
    """Instances of the unweighted JSON sets (``{"source", "records": [{"id", "n", "p", "d", ...}]}``).

    Weights are all 1; ``reference_total_tardiness`` becomes a best-known reference.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProblemError(f"{path}: cannot read JSON ({exc})") from exc
    records = raw.get("records") if isinstance(raw, dict) else None
    if not isinstance(records, list) or not records:
        raise ProblemError(f"{path}: expected an object with a non-empty 'records' list")
    instances = []
    for k, record in enumerate(records):
        if not isinstance(record, dict):
            raise ProblemError(f"{path}: record {k} is not an object")
        n = record.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ProblemError(f"{path}: record {k} has no positive integer 'n'")
        p = _int_list(record.get("p"), n, path, f"record {k} 'p'")
        d = _int_list(record.get("d"), n, path, f"record {k} 'd'")
        w = [1] * n
        _check_jobs(path, f"record {k}", p, w)
        ref = record.get("reference_total_tardiness")
        if ref is not None and not is_finite_number(ref):
            raise ProblemError(f"{path}: record {k} has a reference that is not a finite number")
        instances.append(
            Instance(
                id=f"{path.stem}-{record.get('id', k)}",
                group=f"n{n}",
                data={"p": p, "w": w, "d": d},
                reference=None if ref is None else float(ref),
                reference_kind=None if ref is None else "best-known",
            )
        )
    return instances
