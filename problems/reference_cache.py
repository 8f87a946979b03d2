"""A per-machine cache of computed references, shared by the problems whose references are costly.

One JSON file per problem under ``$ADRS_CACHE_DIR`` (default ``~/.cache/adrs``), keyed by a hash of the
instance data, so the same instance costs one computation per machine however many runs, workers and
processes ask for it. Writers merge under a lock and replace the file atomically; a missing or corrupt file
only costs a recomputation.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from problems.base import Reference


def cache_path(file_name: str) -> Path:
    """Where the cache file ``file_name`` lives now (read from the environment on every call)."""
    root = os.environ.get("ADRS_CACHE_DIR") or Path.home() / ".cache" / "adrs"
    return Path(root) / file_name


def read_cache(path: Path) -> dict[str, Reference]:
    """Entries on disk; a missing, unreadable or corrupt file reads as empty (values are recomputed)."""
    entries = {}
    for key, item in read_records(path).items():
        try:
            entries[key] = Reference(float(item["value"]), item["kind"], item["source"])
        except (KeyError, TypeError, ValueError):
            continue
    return entries


def read_records(path: Path) -> dict[str, dict]:
    """The file's entries as plain JSON objects, for a problem whose reference is more than one value (its
    reader checks each); missing, unreadable or corrupt reads as empty."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {key: item for key, item in raw.items() if isinstance(item, dict)}


def write_shipped(path: Path, records: dict[str, dict]) -> None:
    """Rewrite a problem's shipped records (a file in the package, read with ``read_records``), sorted and one
    entry per line so that a change of references reads as a diff."""
    path.write_text(json.dumps(dict(sorted(records.items())), indent=0, sort_keys=True) + "\n")


def write_cache(path: Path, key: str, reference: Reference) -> None:
    """Merge one entry into the file atomically; failure to write only costs a recomputation later."""
    write_cache_many(path, {key: reference})


def write_cache_many(path: Path, new: dict[str, Reference]) -> None:
    """Merge entries into the file in one atomic rewrite (a split's worth at once, not one rewrite each)."""
    write_records(path, {k: {"value": r.value, "kind": r.kind, "source": r.source} for k, r in new.items()})


def write_records(path: Path, new: dict[str, dict]) -> None:
    """Merge plain JSON entries into the file in one atomic rewrite; failure only costs a recomputation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            entries = read_records(path)
            entries.update(new)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as out:
                    json.dump(entries, out, sort_keys=True)
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
