"""The Azure LLM inference trace 2023 as the source of the `conv` and `code` instances, where it is at hand.

Splits name, per instance, a window of the real trace (``azure_window = [start, seconds]``, seconds since the
trace's first request). When ``AzureLLMInferenceTrace_<preset>.csv`` is in the data folder, the instance is that
window's requests, with their real lengths and burstiness, time compressed to the instance's rate; train and
test take different parts of the hour, so test repeats no train request. Without the file, the instance is the
seeded synthetic stand-in of the same means (``synthetic.py``) and a warning on stderr, once per process, names
the missing file. The data folder is ``$ADRS_DATA_DIR``, else ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

from problems.base import data_dir
from problems.serving.traces import Trace, load_azure_trace

SUBFOLDER = "azure-llm-trace"
FILES = {"conv": "AzureLLMInferenceTrace_conv.csv", "code": "AzureLLMInferenceTrace_code.csv"}
_LOADED: dict[Path, Trace] = {}
_WARNED: set[Path] = set()


def window(preset: str, window: tuple[float, ...] | list[float], rate: float) -> tuple[Trace | None, float]:
    """The requests of ``window`` = ``[start, seconds]`` of the preset's trace compressed to ``rate`` per second,
    and the compressed window's length; ``(None, 0)`` when the instance is to be generated."""
    if not window or preset not in FILES:
        return None, 0.0
    trace = _load(data_dir() / SUBFOLDER / FILES[preset])
    if trace is None:
        return None, 0.0
    start, seconds = float(window[0]), float(window[1])
    piece = trace.window(start, seconds)
    if not len(piece):
        return None, 0.0
    factor = rate * seconds / len(piece)
    return piece.compressed(factor), seconds / factor


def _load(path: Path) -> Trace | None:
    """The trace at ``path``, read once per process; None, with a warning the first time, when it is absent."""
    if path in _LOADED:
        return _LOADED[path]
    if not path.is_file():
        if path not in _WARNED:
            _WARNED.add(path)
            print(
                f"serving: {path.name} not found in {path.parent} (set ADRS_DATA_DIR to the folder holding "
                f"{SUBFOLDER}/); its instances are synthetic stand-ins of the same means. The trace is on GitHub, "
                "Azure/AzurePublicDataset, data/.",
                file=sys.stderr,
            )
        return None
    _LOADED[path] = load_azure_trace(path)
    return _LOADED[path]
