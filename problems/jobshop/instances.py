"""Job-shop instances: Taillard's generator and loaders for the two standard text formats.

Generator: Taillard, "Benchmarks for basic scheduling problems", EJOR 64 (1993). Durations are drawn uniformly
from 1..99 and each job's machine order is a random permutation, both from his portable linear congruential
generator (Park-Miller's minimal standard, seeded by a *time seed* and a *machine seed*), so a pair of seeds
names an instance on any machine; Taillard's own seeds give his published instances (``ta01`` is 840612802
and 398197754, tests/jobshop check its first job).

Formats (``load``):
- OR-Library / JSPLIB: a line ``n m``, then n lines of m ``machine duration`` pairs (machines 0-based). Lines
  starting with ``#`` and OR-Library's banner lines (``+++``, ``instance NAME`` and the description line before
  ``n m``) are skipped. One file may hold several instances in OR-Library's ``jobshop1.txt`` layout.
- Taillard: ``Nb of jobs, Nb of Machines, Time seed, Machine seed, Upper bound, Lower bound``, a line of those
  six numbers, ``Times`` and n lines of m durations, ``Machines`` and n lines of m machines (1-based). One file
  may hold several instances; its upper and lower bounds become the instance's reference (optimum when equal).
- A published optimum or bound beside a file: a sidecar ``FILE.ref`` (or ``references.txt`` in its folder) with
  lines ``NAME optimum VALUE`` or ``NAME bound LOWER UPPER``, ``NAME`` the instance's name (the file's stem for a
  one-instance file); ``#`` starts a comment.
Faults (a missing number, a duration of 0 or less, a machine out of range or repeated in a job) raise
``ProblemError`` with one line naming the file, the line and the fault.
"""

from __future__ import annotations

import re
from pathlib import Path

from problems.base import Instance, ProblemError

_M, _A, _B, _C = 2147483647, 16807, 127773, 2836


class Taillard:
    """Taillard's generator of uniform random numbers, ``unif(seed, low, high)`` of the 1993 paper."""

    def __init__(self, seed: int):
        if not 0 < seed < _M:
            raise ValueError(f"Taillard's seeds lie in 1..{_M - 1}, got {seed}")
        self.seed = seed

    def unif(self, low: int, high: int) -> int:
        k = self.seed // _B
        self.seed = _A * (self.seed % _B) - k * _C
        if self.seed < 0:
            self.seed += _M
        return low + int(self.seed / _M * (high - low + 1))


def generate(n: int, m: int, time_seed: int, machine_seed: int) -> list[list[list[int]]]:
    """Taillard's job shop of ``n`` jobs and ``m`` machines: per job, ``[machine, duration]`` pairs (0-based)."""
    times = Taillard(time_seed)
    durations = [[times.unif(1, 99) for _ in range(m)] for _ in range(n)]
    machines = Taillard(machine_seed)
    orders = []
    for _ in range(n):
        order = list(range(m))
        for j in range(m):
            r = machines.unif(j, m - 1)
            order[j], order[r] = order[r], order[j]
        orders.append(order)
    return [[[machine, d] for machine, d in zip(order, row)] for order, row in zip(orders, durations)]


def seeds_of(seed: int) -> tuple[int, int]:
    """The (time seed, machine seed) pair of a split's instance seed: distinct seeds give distinct pairs."""
    return 1 + (seed * 7919) % (_M - 1), 1 + (seed * 104729 + 12345) % (_M - 1)


def generated(split: str, k: int, n: int, m: int, seed: int) -> Instance:
    time_seed, machine_seed = seeds_of(seed)
    data = {"jobs": generate(n, m, time_seed, machine_seed), "machines": m}
    return Instance(f"{split}-{k:03d}", f"{n}x{m}", data)


def _fault(path: Path, line: int, text: str) -> ProblemError:
    return ProblemError(f"{path}:{line}: {text}")


def _numbers(path: Path, number: int, line: str) -> list[int]:
    try:
        return [int(x) for x in line.split()]
    except ValueError:
        bad = next(x for x in line.split() if not re.fullmatch(r"[+-]?\d+", x))
        raise _fault(path, number, f"expected whole numbers, found {bad[:20]!r}") from None


def _check_job(path: Path, number: int, pairs: list[list[int]], m: int, job: int) -> None:
    seen = set()
    for machine, duration in pairs:
        if not 0 <= machine < m:
            raise _fault(path, number, f"job {job}: machine {machine} is outside 0..{m - 1}")
        if machine in seen:
            raise _fault(path, number, f"job {job}: machine {machine} appears twice")
        if duration <= 0:
            raise _fault(path, number, f"job {job}: duration {duration} on machine {machine} must be positive")
        seen.add(machine)


def _header(path: Path, number: int, values: list[int]) -> tuple[int, int]:
    if len(values) != 2:
        raise _fault(path, number, f"expected the header 'jobs machines', found {len(values)} numbers")
    n, m = values
    if n < 1 or m < 1:
        raise _fault(path, number, f"an instance needs at least one job and one machine, got {n} x {m}")
    return n, m


def parse_orlib(path: Path, text: str) -> list[tuple[str, dict]]:
    """(name, data) of each instance of an OR-Library / JSPLIB file (module docstring)."""
    lines = [(i + 1, raw.split("#", 1)[0].strip()) for i, raw in enumerate(text.splitlines())]
    found, name, pos = [], path.stem, 0
    while pos < len(lines):
        number, line = lines[pos]
        pos += 1
        if not line or line.startswith("+"):
            continue
        if line.startswith("instance"):
            name = line.split(None, 1)[1].strip() if len(line.split()) > 1 else name
            continue
        if not re.fullmatch(r"[\d\s+-]+", line):  # OR-Library's description line
            continue
        n, m = _header(path, number, _numbers(path, number, line))
        jobs = []
        while len(jobs) < n:
            if pos >= len(lines):
                raise _fault(path, number, f"the header announces {n} jobs, the file ends after {len(jobs)}")
            row_number, row = lines[pos]
            pos += 1
            if not row:
                continue
            values = _numbers(path, row_number, row)
            if len(values) != 2 * m:
                raise _fault(
                    path, row_number, f"job {len(jobs)}: expected {m} machine-duration pairs, got {len(values) / 2:g}"
                )
            pairs = [values[k : k + 2] for k in range(0, len(values), 2)]
            _check_job(path, row_number, pairs, m, len(jobs))
            jobs.append(pairs)
        found.append((name, {"jobs": jobs, "machines": m}))
        name = f"{path.stem}-{len(found)}"
    if not found:
        raise ProblemError(f"{path}: no instance found (expected a line 'jobs machines')")
    return found


def _block(path: Path, lines: list, pos: int, title: str, n: int, m: int) -> tuple[list[tuple[int, list]], int]:
    while pos < len(lines) and not lines[pos][1]:
        pos += 1
    if pos >= len(lines) or lines[pos][1].lower() != title:
        where = lines[pos][0] if pos < len(lines) else len(lines)
        raise _fault(path, where, f"expected the line '{title.capitalize()}'")
    rows, pos = [], pos + 1
    while len(rows) < n:
        if pos >= len(lines):
            raise _fault(path, len(lines), f"the {title} block ends after {len(rows)} of {n} rows")
        number, line = lines[pos]
        pos += 1
        if line:
            if line[0].isalpha():
                raise _fault(path, number, f"the {title} block ends after {len(rows)} of {n} rows")
            values = _numbers(path, number, line)
            if len(values) != m:
                raise _fault(path, number, f"{title} row {len(rows)}: expected {m} numbers, got {len(values)}")
            rows.append((number, values))
    return rows, pos


def parse_taillard(path: Path, text: str) -> list[tuple[str, dict, tuple[int, int] | None]]:
    """(name, data, (lower, upper) or None) of each instance of a file in Taillard's format."""
    lines = [(i + 1, raw.split("#", 1)[0].strip()) for i, raw in enumerate(text.splitlines())]
    found, pos = [], 0
    while pos < len(lines):
        number, line = lines[pos]
        pos += 1
        if not line.lower().startswith("nb of jobs"):
            if line:
                raise _fault(path, number, "expected Taillard's header 'Nb of jobs, Nb of Machines, ...'")
            continue
        while pos < len(lines) and not lines[pos][1]:
            pos += 1
        if pos >= len(lines):
            raise _fault(path, number, "the header has no line of numbers after it")
        number, line = lines[pos]
        values = _numbers(path, number, line)
        if len(values) < 2:
            raise _fault(path, number, "expected jobs, machines, time seed, machine seed, upper and lower bound")
        n, m = _header(path, number, values[:2])
        bounds = (values[5], values[4]) if len(values) >= 6 else None
        times, pos = _block(path, lines, pos + 1, "times", n, m)
        machines, pos = _block(path, lines, pos, "machines", n, m)
        jobs = []
        for job, ((_, durations), (row_number, order)) in enumerate(zip(times, machines)):
            outside = [machine for machine in order if not 1 <= machine <= m]
            if outside:
                raise _fault(path, row_number, f"job {job}: machine {outside[0]} is outside 1..{m} (1-based here)")
            pairs = [[machine - 1, d] for machine, d in zip(order, durations)]
            if any(d <= 0 for d in durations):
                bad = next(d for d in durations if d <= 0)
                raise _fault(path, times[job][0], f"job {job}: duration {bad} must be positive")
            _check_job(path, row_number, pairs, m, job)
            jobs.append(pairs)
        found.append((f"{path.stem}-{len(found) + 1}", {"jobs": jobs, "machines": m}, bounds))
    if not found:
        raise ProblemError(f"{path}: no instance found (expected Taillard's header 'Nb of jobs, ...')")
    return found


def read_references(path: Path) -> dict[str, tuple[float, float]]:
    """Name -> (lower, upper) from a sidecar file (module docstring): equal for an optimum."""
    out = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        try:
            if len(words) == 3 and words[1] == "optimum":
                out[words[0]] = (float(words[2]), float(words[2]))
            elif len(words) == 4 and words[1] == "bound":
                out[words[0]] = (float(words[2]), float(words[3]))
            else:
                raise ValueError
        except ValueError:
            raise _fault(path, number, "expected 'NAME optimum VALUE' or 'NAME bound LOWER UPPER'") from None
    return out


def load(path: Path) -> list[Instance]:
    """Instances of a file in either format, with published references from Taillard's header or a sidecar."""
    path = Path(path)
    if not path.is_file():
        raise ProblemError(f"{path}: no such instance file")
    text = path.read_text(encoding="utf-8", errors="replace")
    if re.search(r"^\s*nb of jobs", text, re.IGNORECASE | re.MULTILINE):
        parsed = parse_taillard(path, text)
    else:
        parsed = [(name, data, None) for name, data in parse_orlib(path, text)]
    sidecars = [p for p in (path.with_name(path.name + ".ref"), path.with_name("references.txt")) if p.is_file()]
    published = {name: bounds for sidecar in sidecars for name, bounds in read_references(sidecar).items()}
    if len(parsed) == 1 and path.stem in published:
        parsed = [(path.stem, parsed[0][1], parsed[0][2])]
    instances = []
    for name, data, bounds in parsed:
        bounds = published.get(name, bounds)
        group = f"{len(data['jobs'])}x{data['machines']}"
        if bounds is None:
            instances.append(Instance(name, group, data))
        else:
            lower, upper = bounds
            kind = "optimum" if lower == upper else "bound"
            instances.append(Instance(name, group, data, float(lower), kind))
    return instances
