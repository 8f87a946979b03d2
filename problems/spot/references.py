"""Omniscient optima of `spot` scenarios, computed in batches and cached once per machine.

The dynamic program (``problems/spot/exact.py``) solves scenarios of equal timing together, so optima are
asked for a whole split at once. They are cached in ``spot-optima.json`` under ``$ADRS_CACHE_DIR``
(``problems/reference_cache.py``), keyed by a hash of the scenario data and of the code of the engine, of its
scenarios and of the program: editing any of them computes them afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from problems import reference_cache
from problems.base import Reference
from problems.spot import exact, scenario, sim
from problems.spot.scenario import Scenario

CACHE_FILE = "spot-optima.json"
SOURCE = "omniscient-dp"
# Part of every key: bump it when the meaning of the optimum changes so stale values are not reused.
_METHOD_VERSION = "v1"
_MEMO: dict[tuple[str, str], Reference] = {}
_DIGEST: list[str] = []


def _code_digest() -> str:
    if not _DIGEST:
        digest = hashlib.sha256()
        for module in (exact, scenario, sim):
            digest.update(Path(module.__file__).read_bytes())
        _DIGEST.append(digest.hexdigest())
    return _DIGEST[0]


def scenario_key(data: dict) -> str:
    """A stable hash of a scenario's data and of the code that solves it."""
    canonical = json.dumps([_METHOD_VERSION, _code_digest(), data], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def optima(datas: Sequence[dict], scenarios: Sequence[Scenario] | None = None) -> list[Reference]:
    """The optimum of every scenario, from the cache where it has them and solved in one batch otherwise."""
    path = reference_cache.cache_path(CACHE_FILE)
    keys = [scenario_key(data) for data in datas]
    found: dict[str, Reference] = {}
    missing = [i for i, key in enumerate(keys) if (str(path), key) not in _MEMO]
    if missing:
        on_disk = reference_cache.read_cache(path)
        found = {keys[i]: on_disk[keys[i]] for i in missing if keys[i] in on_disk}
        todo = [i for i in missing if keys[i] not in found]
        if todo:
            solved = exact.optimum_costs(
                [scenarios[i] if scenarios is not None else Scenario.from_data(datas[i]) for i in todo]
            )
            new = {keys[i]: Reference(cost, "optimum", SOURCE) for i, cost in zip(todo, solved)}
            reference_cache.write_cache_many(path, new)
            found.update(new)
        for key, reference in found.items():
            _MEMO[(str(path), key)] = reference
    return [_MEMO[(str(path), key)] for key in keys]
