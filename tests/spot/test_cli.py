"""`adrs bench spot` and `adrs eval spot`, end to end through the command line and the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from problems.spot.traces import traces_dir


def adrs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True, text=True, timeout=600)


def rows(stdout: str) -> dict[str, list[str]]:
    """The leaderboard's rows by program name (the bound's name has a space: it is joined back)."""
    lines = stdout.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("program")) + 2  # past the rule
    table = {}
    for line in lines[start:]:
        name, values = ("omniscient optimum", line.split()[2:]) if line.startswith("omniscient") else (
            line.split()[0], line.split()[1:])  # fmt: skip
        table[name] = values
    return table


def test_bench_prints_every_baseline_beside_the_optimum(tmp_path):
    result = adrs("bench", "spot", "--split", "smoke")
    assert result.returncode == 0, result.stderr
    header = next(line for line in result.stdout.splitlines() if line.startswith("program"))
    for column in ("cost[$] smoke", "savings", "gap", "worst_gap", "misses"):
        assert column in header
    table = rows(result.stdout)
    for name in ("seed", "on_demand", "greedy", "uniform_progress", "round_robin_up"):
        assert table[name][0] == "ok", table[name]
    optimum = table["omniscient optimum"]
    assert optimum[0] == "optimal" and float(optimum[3]) == 0.0  # no gap to itself
    assert all(float(table[name][1]) >= float(optimum[1]) for name in ("seed", "greedy", "on_demand"))
    assert float(table["on_demand"][2]) == 0.0  # on-demand saves nothing against itself


def test_eval_of_an_unsafe_policy_is_infeasible_with_the_tick_it_broke(tmp_path):
    policy = tmp_path / "always_spot.py"
    policy.write_text('def decide(state):\n    return "spot"\n')
    result = adrs("eval", "spot", str(policy), "--split", "smoke")
    assert result.returncode == 1
    assert "spot/smoke: infeasible" in result.stdout
    assert "infeasible action log: tick" in result.stdout and "is unavailable" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_eval_reads_a_skypilot_trace_file(tmp_path):
    trace = tmp_path / "steady.json"
    trace.write_text(json.dumps({"metadata": {"gap_seconds": 600}, "data": [1] * 400 + [0] * 200}))
    seed = "seeds/spot/uniform_progress.py"
    result = adrs("eval", "spot", seed, "--instances", str(trace))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "spot/file: ok" in result.stdout and "steady-1z-52h-0.02h" in result.stdout


@pytest.mark.slow
def test_bench_on_test_puts_uniform_progress_between_greedy_and_the_optimum():
    if traces_dir() is None:
        pytest.skip("the SkyPilot spot traces are not in ../shared/data/spot-traces (or $ADRS_SPOT_TRACES)")
    result = adrs("bench", "spot", "--split", "test")
    assert result.returncode == 0, result.stderr
    table = rows(result.stdout)
    cost = {name: float(values[1]) for name, values in table.items()}
    assert cost["omniscient optimum"] < cost["uniform_progress"] < cost["greedy"] < cost["on_demand"]
    assert all(values[5] == "0" for name, values in table.items() if name != "omniscient optimum")  # misses
