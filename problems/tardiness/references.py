"""References to measure gaps against, computed once per instance and cached on disk.

n <= 20: the DP optimum. Larger: the instance's supplied value when it has one, else the computed
local-search reference. The cache is one JSON file under ``$ADRS_CACHE_DIR`` (default ``~/.cache/adrs``)
keyed by a hash of the instance data, so the same instance costs one computation per machine however
many runs, workers and processes ask for it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from problems.base import Instance, Reference
from problems.tardiness import exact

DP_MAX_JOBS = 20
CACHE_FILE = "tardiness-references.json"
# Part of every key: bump it when a solver changes so stale values are not reused.
_METHOD_VERSION = "v1"
_MEMO: dict[tuple[str, str], Reference] = {}


def cache_path() -> Path:
    """Where the reference cache lives now (read from the environment on every call)."""
    root = os.environ.get("ADRS_CACHE_DIR") or Path.home() / ".cache" / "adrs"
    return Path(root) / CACHE_FILE


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
    reference = _read_cache(path).get(key)
    if reference is None:
        reference = _compute(data, time_limit_s)
        _write_cache(path, key, reference)
    _MEMO[memo_key] = reference
    return reference


def _compute(data: dict, time_limit_s: float) -> Reference:
    p, w, d = data["p"], data["w"], data["d"]
    if len(p) <= DP_MAX_JOBS:
        value, _ = exact.optimal_twt(p, w, d)
        return Reference(float(value), "optimum", "subset-dp")
    value, _ = exact.improved_reference(p, w, d, time_limit_s)
    return Reference(float(value), "computed", "local-search")


def _read_cache(path: Path) -> dict[str, Reference]:
    """Entries on disk; a missing, unreadable or corrupt file reads as empty (values are recomputed)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    entries = {}
    for key, item in raw.items():
        try:
            entries[key] = Reference(float(item["value"]), item["kind"], item["source"])
        except (KeyError, TypeError, ValueError):
            continue
    return entries


def _write_cache(path: Path, key: str, reference: Reference) -> None:
    """Merge one entry into the file atomically; failure to write only costs a recomputation later."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            entries = _read_cache(path)
            entries[key] = reference
            payload = {k: {"value": r.value, "kind": r.kind, "source": r.source} for k, r in entries.items()}
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as out:
                    json.dump(payload, out, sort_keys=True)
                os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache holds nothing secret
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
    except OSError:
        pass


@contextlib.contextmanager
def _locked(lock_path: Path):
    """An exclusive advisory lock so concurrent writers merge instead of dropping each other's entries."""
    try:
        import fcntl
    except ImportError:  # not on POSIX: os.replace alone still keeps the file whole
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
