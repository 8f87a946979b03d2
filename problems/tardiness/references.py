"""References to measure gaps against, computed once per instance and cached on disk.

n <= 20: the DP optimum. Larger: the instance's supplied value when it has one, else the computed
local-search reference. The cache is one JSON file under ``$ADRS_CACHE_DIR`` (``problems/reference_cache.py``)
keyed by a hash of the instance data, so the same instance costs one computation per machine however
many runs, workers and processes ask for it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from problems import reference_cache
from problems.base import Instance, Reference
from problems.tardiness import exact

DP_MAX_JOBS = 20
CACHE_FILE = "tardiness-references.json"
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


def reference_for(instance: Instance, time_limit_s: float = 2.0) -> Reference:
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
