"""References to measure gaps against, computed once per instance and cached on disk.

n <= 20: the DP optimum. Larger: the instance's supplied value when it has one, else the computed
local-search reference. The local search is deterministic (a fixed number of seeded kicks), so the values of
the generated splits' larger instances are computed once and shipped (``reference_values.json``; at 100 jobs
each costs 2-4 s); any other instance's value is computed on first use and cached in one JSON file under
``$ADRS_CACHE_DIR`` (``problems/reference_cache.py``), keyed by a hash of the instance data, so it costs one
computation per machine however many runs, workers and processes ask for it.

``python -m problems.tardiness.references --write`` recomputes the shipped table (after a split or the
method changes).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
from pathlib import Path

from problems import reference_cache
from problems.base import Instance, Reference
from problems.tardiness import exact

DP_MAX_JOBS = 20
CACHE_FILE = "tardiness-references.json"
SHIPPED_FILE = Path(__file__).with_name("reference_values.json")
# Part of every key: bump it when a solver changes so stale values are not reused.
_METHOD_VERSION = "v1"
_MEMO: dict[tuple[str, str], Reference] = {}


def cache_path() -> Path:
    """Where the reference cache lives now (read from the environment on every call)."""
    return reference_cache.cache_path(CACHE_FILE)


def instance_key(data: dict) -> str:
    """A stable hash of the instance's numbers (not its id: the same jobs under two names share a value)."""
    canonical = json.dumps([_METHOD_VERSION, data["p"], data["w"], data["d"]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def reference_for(instance: Instance, time_limit_s: float = 60.0) -> Reference:
    """The reference of ``instance``: proven optimum, supplied best-known value, or computed upper bound."""
    data = instance.data
    n = len(data["p"])
    if n > DP_MAX_JOBS and instance.reference is not None:
        return Reference(float(instance.reference), instance.reference_kind or "best-known", "file")
    path = cache_path()
    key = instance_key(data)
    memo_key = (str(path), key)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    shipped = _shipped().get(key)
    reference = Reference(shipped, "computed", "local-search") if shipped is not None else None
    if reference is None:
        reference = reference_cache.read_cache(path).get(key)
    if reference is None:
        reference = _compute(data, time_limit_s)
        reference_cache.write_cache(path, key, reference)
    _MEMO[memo_key] = reference
    return reference


def _compute(data: dict, time_limit_s: float) -> Reference:
    p, w, d = data["p"], data["w"], data["d"]
    if len(p) <= DP_MAX_JOBS:
        value, _ = exact.optimal_twt(p, w, d)
        return Reference(float(value), "optimum", "subset-dp")
    value, _ = exact.improved_reference(p, w, d, time_limit_s)
    return Reference(float(value), "computed", "local-search")


@functools.cache
def _shipped() -> dict[str, float]:
    """The shipped local-search values of the generated splits' instances above the DP's size, by key."""
    try:
        return {key: float(value) for key, value in json.loads(SHIPPED_FILE.read_text()).items()}
    except (OSError, ValueError):
        return {}


def write_shipped(time_limit_s: float = 120.0) -> int:
    """Rewrite the shipped table for every generated instance above the DP's size; the number written. Values
    already shipped are kept (a key names the method's version, so a changed method never matches them)."""
    from problems import registry

    problem = registry.load("tardiness")
    shipped, values = _shipped(), {}
    for split in ("smoke", "train", "test", *problem.extra_splits()):
        for instance in problem.instances(split):
            key = instance_key(instance.data)
            if len(instance.data["p"]) > DP_MAX_JOBS:
                values[key] = shipped[key] if key in shipped else _compute(instance.data, time_limit_s).value
    SHIPPED_FILE.write_text(json.dumps(dict(sorted(values.items())), indent=0) + "\n")
    return len(values)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Recompute the shipped tardiness references.")
    parser.add_argument("--write", action="store_true", help=f"rewrite {SHIPPED_FILE.name}")
    if parser.parse_args().write:
        print(f"wrote {write_shipped()} references to {SHIPPED_FILE}")
