"""Reference goodput of a `serving` instance, computed once per instance and machine and cached on disk.

The reference is the oracle of ``problems/serving/oracle.py``: a scheduler told every request's true output
length. It costs one simulation of the instance (about as long as a candidate's run), so it is cached in
``serving-references.json`` under ``$ADRS_CACHE_DIR`` (``problems/reference_cache.py``), keyed by a hash of the
instance data and of the oracle's code: editing either computes it afresh. Without the oracle module the
reference is the arrival rate, the goodput of a server meeting every SLO.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from problems import reference_cache
from problems.base import Instance, Reference, seeds_dir
from problems.serving.sim import Workload

CACHE_FILE = "serving-references.json"
# Part of every key: bump it when the meaning of the reference changes so stale values are not reused.
_METHOD_VERSION = "v2"
_MEMO: dict[tuple[str, str], Reference] = {}


def cache_path() -> Path:
    """Where the reference cache lives now (read from the environment on every call)."""
    return reference_cache.cache_path(CACHE_FILE)


def oracle_module():
    """The oracle module, or None where the problem ships none."""
    try:
        from problems.serving import oracle
    except ImportError:
        return None
    return oracle


def _code_digest(oracle) -> str:
    """A hash of the oracle's code and of the seeds it runs, so a changed oracle is not served stale values."""
    digest = hashlib.sha256(Path(oracle.__file__).read_bytes())
    for seed in getattr(oracle, "SEEDS", ()):
        if (seeds_dir() / seed).is_file():
            digest.update((seeds_dir() / seed).read_bytes())
    return digest.hexdigest()


def instance_key(data: dict, code_digest: str) -> str:
    """A stable hash of the instance's data and the oracle's code (not its id: equal data share a value)."""
    canonical = json.dumps([_METHOD_VERSION, code_digest, data], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def arrival_rate(workload: Workload) -> float:
    """Requests per second of the arrival window: no scheduler's goodput exceeds it."""
    return len(workload.arrivals) / workload.duration


def reference_for(instance: Instance) -> Reference:
    """The oracle's goodput on ``instance`` (cached), or its arrival rate where there is no oracle."""
    oracle = oracle_module()
    if oracle is None:
        return Reference(arrival_rate(Workload.from_data(instance.data)), "computed", "arrival-rate")
    path = cache_path()
    key = instance_key(instance.data, _code_digest(oracle))
    memo_key = (str(path), key)
    if memo_key in _MEMO:
        return _MEMO[memo_key]
    reference = reference_cache.read_cache(path).get(key)
    if reference is None:
        value = oracle.oracle_goodput(Workload.from_data(instance.data))
        reference = Reference(float(value), "computed", "oracle-true-lengths")
        reference_cache.write_cache(path, key, reference)
    _MEMO[memo_key] = reference
    return reference
