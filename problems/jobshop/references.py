"""CP-SAT references of job-shop instances (``exact.py``), computed once and cached.

An instance's record is CP-SAT's answer within a fixed amount of *deterministic* solver time (``reference_limit``
in problem.toml) on one worker with a fixed seed: the same on every machine and under any load, never cut short
by a wall clock (on a loaded 2-core machine the wall time of one deterministic second ranged from 4 to 28
seconds). A record holds the best makespan, CP-SAT's proven lower bound, the status (``optimal`` or
``feasible``) and the deterministic seconds spent. The generated splits' records are shipped
(``reference_values.json``: at 50 x 20 one costs minutes); any other instance's is computed on first use and
cached in ``jobshop-cpsat.json`` under ``$ADRS_CACHE_DIR`` (``problems/reference_cache.py``). Keys hash the
instance, the limit and the code of the model, so a changed model never reuses a stale record.

``python -m problems.jobshop.references --write`` recomputes the shipped table (``--jobs N`` in parallel).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from problems import reference_cache
from problems.base import SPLITS

CACHE_FILE = "jobshop-cpsat.json"
SHIPPED_FILE = Path(__file__).with_name("reference_values.json")
_FIELDS = ("makespan", "bound", "status", "deterministic_seconds")
_MEMO: dict[tuple[str, str], dict] = {}
_DIGEST: list[str] = []


def _code_digest() -> str:
    if not _DIGEST:
        _DIGEST.append(hashlib.sha256(Path(__file__).with_name("exact.py").read_bytes()).hexdigest())
    return _DIGEST[0]


def record_key(data: dict, limit: float) -> str:
    """A stable hash of an instance's operations, the solver's limit and the model's code."""
    canonical = json.dumps([_code_digest(), limit, data["machines"], data["jobs"]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def lower_bound(data: dict) -> int:
    """The classic bound no schedule passes: the busiest machine's work and the longest job's."""
    load = [0] * data["machines"]
    for ops in data["jobs"]:
        for machine, duration in ops:
            load[machine] += duration
    return max([*load, *(sum(d for _, d in ops) for ops in data["jobs"])], default=0)


def record(data: dict, limit: float) -> dict:
    """CP-SAT's record for an instance: ``makespan``, ``bound``, ``status``, ``deterministic_seconds``."""
    path = reference_cache.cache_path(CACHE_FILE)
    key = record_key(data, limit)
    memo = (str(path), key)
    if memo not in _MEMO:
        found = reference_cache.read_records(SHIPPED_FILE).get(key) or reference_cache.read_records(path).get(key)
        if not _valid(found):
            found = _solve(data, limit)
            reference_cache.write_records(path, {key: found})
        _MEMO[memo] = found
    return _MEMO[memo]


def _solve(data: dict, limit: float) -> dict:
    from problems.jobshop import exact  # OR-Tools loads only when an instance is solved

    solution = exact.solve(data["jobs"], data["machines"], limit)
    return {name: getattr(solution, name) for name in _FIELDS}


def _solve_keyed(item: tuple[str, dict, float]) -> tuple[str, dict]:
    key, data, limit = item
    return key, _solve(data, limit)


def write_shipped(jobs: int = 1) -> int:
    """Rewrite the shipped records for every instance of the generated splits; the number written. Records
    already shipped under the same key are kept."""
    from problems import registry

    problem = registry.load("jobshop")
    shipped, todo, records = reference_cache.read_records(SHIPPED_FILE), {}, {}
    for split in SPLITS:
        for instance in problem.instances(split):
            key = record_key(instance.data, problem.reference_limit)
            if _valid(shipped.get(key)):
                records[key] = shipped[key]
            else:
                todo[key] = (key, instance.data, problem.reference_limit)
    ordered = sorted(todo.values(), key=lambda item: -sum(len(ops) for ops in item[1]["jobs"]))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for key, found in pool.map(_solve_keyed, ordered):
            records[key] = found
            print(f"{key[:12]}: {found}", flush=True)
    reference_cache.write_shipped(SHIPPED_FILE, records)
    return len(records)


def _valid(found: object) -> bool:
    return (
        isinstance(found, dict)
        and all(name in found for name in _FIELDS)
        and found["status"] in ("optimal", "feasible")
        and isinstance(found["makespan"], int)
        and isinstance(found["bound"], int)
        and 0 < found["bound"] <= found["makespan"]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Recompute the shipped jobshop CP-SAT references.")
    parser.add_argument("--write", action="store_true", help=f"rewrite {SHIPPED_FILE.name}")
    parser.add_argument("--jobs", type=int, default=1, help="instances solved at once (each on one worker)")
    args = parser.parse_args()
    if args.write:
        print(f"wrote {write_shipped(args.jobs)} references to {SHIPPED_FILE}")
