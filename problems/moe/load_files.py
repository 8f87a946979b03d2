"""Expert-load trace files: ``.npz`` with an array ``loads`` [W, L, E], or a long CSV ``window,layer,expert,tokens``.

The CSV needs its header (columns in any order, other columns ignored), rows in any order, every (window, layer,
expert) cell exactly once, indices from 0, and whole token counts >= 0. Anything else is a ``ProblemError`` with a
one-line reason naming the file. ``save_npz`` writes the ``.npz`` form, e.g. from vLLM's EPLB load history.
"""

from __future__ import annotations

import csv
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from problems.base import ProblemError

CSV_COLUMNS = ("window", "layer", "expert", "tokens")
_MAX_CELLS = 2**31  # a file claiming more cells than this is malformed, not a trace to allocate


def as_loads(array: Any, source: str) -> np.ndarray:
    """``array`` as an int64 trace [W, L, E]; ProblemError naming ``source`` unless it is one.

    Floats are accepted when every value is a finite whole number (load histories are often kept as floats).
    """
    try:
        loads = np.asarray(array)
    except (ValueError, TypeError) as exc:
        raise ProblemError(f"{source}: loads are not a numeric array ({exc})") from None
    if loads.ndim != 3 or 0 in loads.shape:
        raise ProblemError(f"{source}: loads need the shape [window, layer, expert], none empty; got {loads.shape}")
    if loads.dtype.kind == "f":
        bad = ~np.isfinite(loads)
        if bad.any():
            raise ProblemError(f"{source}: loads{_cell(bad)} is {loads[bad][0]} (not a finite number)")
        fractional = loads != np.floor(loads)
        if fractional.any():
            raise ProblemError(f"{source}: loads{_cell(fractional)} is {loads[fractional][0]} (not a whole count)")
        if loads.size and np.abs(loads).max() >= 2**62:
            raise ProblemError(f"{source}: token counts too large")
    elif loads.dtype.kind not in "iu":
        raise ProblemError(f"{source}: loads must be integers, got dtype {loads.dtype}")
    negative = loads < 0
    if negative.any():
        raise ProblemError(f"{source}: loads{_cell(negative)} is negative ({loads[negative][0]})")
    return np.ascontiguousarray(loads, dtype=np.int64)


def _cell(mask: np.ndarray) -> str:
    """``[w, l, e]`` of the first True cell of ``mask``, for messages."""
    return str([int(i) for i in np.argwhere(mask)[0]])


def load_file(path: str | Path) -> np.ndarray:
    """The int64 trace [W, L, E] of a ``.npz`` or ``.csv`` file (format by suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix == ".csv":
        return _load_csv(path)
    raise ProblemError(f"{path}: unknown load-trace format; use .npz (array 'loads') or .csv ({','.join(CSV_COLUMNS)})")


def save_npz(path: str | Path, loads: Any) -> Path:
    """Writes ``loads`` [W, L, E] (validated as ``load_file`` would) to a compressed ``.npz``; returns its path."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise ProblemError(f"{path}: a load trace is saved as .npz")
    np.savez_compressed(path, loads=as_loads(loads, str(path)))
    return path


def _load_npz(path: Path) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as data:
            if "loads" not in data.files:
                raise ProblemError(f"{path}: no array 'loads' (found {', '.join(data.files) or 'none'})")
            array = data["loads"]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ProblemError(f"{path}: not a readable .npz file ({exc})") from None
    return as_loads(array, str(path))


def _whole(path: Path, line: int, name: str, text: str) -> int:
    """A whole number >= 0 from a CSV cell ("12" or "12.0")."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise ProblemError(f"{path}: line {line}: {name} {text[:20]!r} is not a number") from None
        if not math.isfinite(number) or number != math.floor(number):
            raise ProblemError(f"{path}: line {line}: {name} {text[:20]!r} is not a whole number") from None
        value = int(number)
    if value < 0:
        raise ProblemError(f"{path}: line {line}: {name} is negative ({value})")
    return value


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows [n, 3] of (window, layer, expert), their tokens [n] and line numbers [n], in file order."""
    cells: list[tuple[int, int, int]] = []
    tokens: list[int] = []
    lines: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                need = ",".join(CSV_COLUMNS)
                raise ProblemError(f"{path}: the header {header[:6]} lacks {', '.join(missing)}; need {need}")
            at = [header.index(c) for c in CSV_COLUMNS]
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                line = reader.line_num
                values = [row[i].strip() if i < len(row) else "" for i in at]
                w, layer, e, t = (_whole(path, line, name, v) for name, v in zip(CSV_COLUMNS, values))
                cells.append((w, layer, e))
                tokens.append(t)
                lines.append(line)
    except OSError as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ProblemError(f"{path}: not a readable CSV file ({exc})") from None
    if not cells:
        raise ProblemError(f"{path}: no rows under the header")
    return np.asarray(cells, dtype=np.int64), np.asarray(tokens, dtype=np.int64), np.asarray(lines)


def _load_csv(path: Path) -> np.ndarray:
    cells, tokens, lines = _read_csv(path)
    shape = tuple(int(n) for n in cells.max(axis=0) + 1)
    if math.prod(shape) > _MAX_CELLS:
        raise ProblemError(f"{path}: indices up to {[n - 1 for n in shape]} imply too many cells for a trace")
    flat = np.ravel_multi_index(tuple(cells.T), shape)
    order = np.argsort(flat, kind="stable")
    sorted_flat = flat[order]
    repeats = np.flatnonzero(sorted_flat[1:] == sorted_flat[:-1])
    if repeats.size:
        first, again = order[repeats[0]], order[repeats[0] + 1]
        raise ProblemError(
            f"{path}: line {lines[again]}: cell {cells[again].tolist()} (window, layer, expert) "
            f"already given on line {lines[first]}"
        )
    if sorted_flat.size != math.prod(shape):
        gaps = np.flatnonzero(sorted_flat != np.arange(sorted_flat.size))
        missing = int(gaps[0]) if gaps.size else sorted_flat.size
        cell = [int(i) for i in np.unravel_index(missing, shape)]
        raise ProblemError(f"{path}: no row for cell {cell} (window, layer, expert); every cell of {shape} is needed")
    loads = np.empty(math.prod(shape), dtype=np.int64)
    loads[flat] = tokens
    return loads.reshape(shape)
