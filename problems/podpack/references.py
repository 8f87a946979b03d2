"""CP-SAT placements of snapshot instances (``exact.py``), computed once per machine and cached.

A snapshot's reference is the most pods CP-SAT places, lexicographically by priority, within a fixed amount of
*deterministic* solver time (``reference_limit`` in problem.toml) on one worker: the same on every machine and
under any load, never cut short by a wall clock. Optimal when CP-SAT proves it, else its best placement and its
proven bound. Records live in ``podpack-cpsat.json`` under ``$ADRS_CACHE_DIR`` (``problems/reference_cache.py``),
keyed by a hash of the instance, the limit and the code of the model and the cluster's rules.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from problems import reference_cache
from problems.base import SPLITS

CACHE_FILE = "podpack-cpsat.json"
SHIPPED_FILE = Path(__file__).with_name("reference_values.json")
_FIELDS = ("placed", "bound", "status", "gpu_allocated", "deterministic_seconds")
_MEMO: dict[tuple[str, str], dict] = {}
_DIGEST: list[str] = []


def _code_digest() -> str:
    if not _DIGEST:
        digest = hashlib.sha256()
        for name in ("exact.py", "configurations.py", "formulation.py", "greedy.py", "cluster.py"):
            digest.update(Path(__file__).with_name(name).read_bytes())
        _DIGEST.append(digest.hexdigest())
    return _DIGEST[0]


def record_key(data: dict, limit: float) -> str:
    """A stable hash of a snapshot's nodes and pods, the solver's limit and the code that solves it."""
    canonical = json.dumps([_code_digest(), limit, data["nodes"], data["pods"]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def optimum(data: dict, limit: float) -> dict:
    """CP-SAT's record for a snapshot: ``placed`` and ``bound`` per priority, ``status`` ("optimal" or
    "feasible"), ``gpu_allocated`` (milli-GPU) and ``deterministic_seconds``."""
    path = reference_cache.cache_path(CACHE_FILE)
    key = record_key(data, limit)
    memo = (str(path), key)
    if memo not in _MEMO:
        record = reference_cache.read_records(SHIPPED_FILE).get(key) or reference_cache.read_records(path).get(key)
        if not _valid(record):
            from problems.podpack import exact  # OR-Tools loads only when a snapshot is solved

            solution = exact.solve(data["nodes"], data["pods"], limit)
            record = {name: getattr(solution, name) for name in _FIELDS}
            record["placed"], record["bound"] = list(record["placed"]), list(record["bound"])
            reference_cache.write_records(path, {key: record})
        _MEMO[memo] = record
    return _MEMO[memo]


def write_shipped() -> int:
    """Rewrite the shipped records for every snapshot of the splits, built from the trace and, without it, from
    the generator (a fresh checkout on a machine without the trace gets the second set); the number written."""
    import os
    import tempfile

    from problems import registry

    before, datas = os.environ.get("ADRS_DATA_DIR"), []
    with tempfile.TemporaryDirectory() as empty:
        try:
            for folder in (before, empty):
                os.environ.pop("ADRS_DATA_DIR", None)
                if folder is not None:
                    os.environ["ADRS_DATA_DIR"] = folder
                problem = registry.load("podpack")
                snapshots = [i for s in SPLITS for i in problem.instances(s) if i.data["kind"] == "snapshot"]
                datas += [(i.data, problem.reference_limit) for i in snapshots]
        finally:
            os.environ.pop("ADRS_DATA_DIR", None)
            if before is not None:
                os.environ["ADRS_DATA_DIR"] = before
    records = {record_key(data, limit): optimum(data, limit) for data, limit in datas}
    reference_cache.write_shipped(SHIPPED_FILE, records)
    return len(records)


def _valid(record: object) -> bool:
    return (
        isinstance(record, dict)
        and all(name in record for name in _FIELDS)
        and record["status"] in ("optimal", "feasible")
        and all(isinstance(x, int) for x in [*record["placed"], *record["bound"]])
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Recompute the shipped podpack CP-SAT references.")
    parser.add_argument("--write", action="store_true", help=f"rewrite {SHIPPED_FILE.name}")
    if parser.parse_args().write:
        print(f"wrote {write_shipped()} references to {SHIPPED_FILE}")
