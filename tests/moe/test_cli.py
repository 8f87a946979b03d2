"""`adrs bench moe` and `adrs eval moe [--gpu] [--instances]`, end to end through the command line and sandbox."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from problems.moe.loads import generate, save_npz

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "moe"
BASELINES = ("seed", "eplb_hierarchical", "eplb_global", "round_robin", "lpt")


def adrs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True, text=True, timeout=600)


def tables(stdout: str) -> dict[str, dict[str, list[str]]]:
    """Each table of the output by its title line (the line above its header): rows by program name."""
    found: dict[str, dict[str, list[str]]] = {}
    lines = stdout.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("program"):
            title = lines[k - 1] if k else ""
            rows = {}
            for row in lines[k + 2 :]:
                if not row.strip():
                    break
                cells = row.split("  ")
                name = cells[0].strip()
                rows[name] = [c.strip() for c in cells if c.strip()]
            found[title] = rows
    return found


def test_bench_prints_every_baseline_per_preset_beside_foresight_and_the_bound():
    result = adrs("bench", "moe", "--split", "smoke")
    assert result.returncode == 0, result.stderr
    found = tables(result.stdout)
    titles = [t.split(" (")[0] for t in found]
    assert titles == ["mixtral-8x7b/global", "qwen3-moe/hierarchical", "all 2 instances"]
    header = next(line for line in result.stdout.splitlines() if line.startswith("program"))
    for column in ("balancedness smoke", "runtime_ms[ms] smoke", "slot_max_mean", "max_load_over_bound"):
        assert column in header
    for rows in found.values():
        assert all(rows[name][1] == "ok" for name in BASELINES), rows
        bound = float(rows["bound (no plan passes it)"][2])
        oracle = float(rows["oracle (EPLB on the next window)"][2])
        assert all(float(rows[name][2]) <= bound + 1e-9 for name in BASELINES)
        assert float(rows["eplb_global"][2]) < oracle <= bound + 1e-9
        assert float(rows["round_robin"][2]) < float(rows["eplb_global"][2])


def test_eval_scores_a_recorded_trace_file(tmp_path):
    path = save_npz(tmp_path / "recorded.npz", generate("mixtral-8x7b", 5, 9))
    result = adrs("eval", "moe", str(SEEDS / "eplb_global.py"), "--instances", str(path))
    assert result.returncode == 0, result.stderr
    assert "4 file instances; references: 4 bound" in result.stdout
    assert "recorded/global" in result.stdout


def test_a_broken_trace_file_is_one_line_with_a_hint(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, loads=np.full((3, 2, 8), np.nan))
    result = adrs("eval", "moe", str(SEEDS / "seed.py"), "--instances", str(bad))
    assert result.returncode == 2
    assert "not a finite number" in result.stderr and "Traceback" not in result.stderr


NO_TORCH = importlib.util.find_spec("torch") is None


@pytest.mark.skipif(NO_TORCH, reason="torch is not installed (pip install 'adrs[gpu]')")
def test_eval_gpu_times_the_layers_and_says_so_when_the_timings_mean_nothing():
    result = adrs("eval", "moe", str(SEEDS / "seed.py"), "--split", "smoke", "--gpu")
    assert result.returncode == 0, result.stderr
    import torch

    meaningless = "timings exercise the code but are not meaningful" in result.stdout
    assert meaningless != torch.cuda.is_available()
    metrics = dict(line.split()[:2] for line in result.stdout.splitlines() if line.startswith(("step", "ideal")))
    assert all(float(metrics[name]) > 0 for name in ("step_ms", "ideal_step_ms", "step_over_ideal"))
