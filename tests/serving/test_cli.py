"""`adrs bench serving` and `adrs eval serving --sweep-rate`, end to end through the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "serving"


def adrs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evolve.cli", *args], capture_output=True, text=True, timeout=600)


def test_bench_prints_every_baseline_beside_the_oracle_and_the_arrival_rate():
    result = adrs("bench", "serving", "--split", "smoke")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("program"))
    for column in ("goodput", "p99_ttft", "attainment", "goodput_max_gap", "preemptions"):
        assert column in header
    rows = {line.split()[0]: line.split() for line in lines if line and not line.startswith(("program", "-"))}
    for name in ("seed", "fcfs_watermark", "conservative", "past_future", "sarathi"):
        assert rows[name][1] == "ok", rows[name]
    oracle = next(line for line in lines if line.startswith("oracle"))
    arrival = next(line for line in lines if line.startswith("arrival rate"))
    assert "  oracle  " in oracle and "upper bound" in arrival
    # Nobody's goodput exceeds the arrival rate: the one true bound.
    rate = float(arrival.split()[4])  # arrival rate, upper bound, then goodput
    assert all(float(rows[name][2]) <= rate + 1e-9 for name in ("seed", "fcfs_watermark", "past_future"))


def _azure_csv(path: Path, requests: int = 300, seconds: float = 150.0) -> Path:
    """An Azure-format trace of long conversations: enough requests that, compressed, they overflow the cache."""
    rng = np.random.default_rng(4)
    times = np.sort(rng.uniform(0, seconds, requests))
    rows = [
        f"2023-11-16 18:{int(t) // 60:02d}:{t % 60:09.6f},{rng.integers(1000, 4000)},{rng.integers(200, 800)}"
        for t in times
    ]
    path.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "\n".join(rows) + "\n")
    return path


def test_sweep_rate_reports_the_highest_rate_that_keeps_attainment_at_ninety_percent(tmp_path):
    trace = _azure_csv(tmp_path / "trace.csv")
    result = adrs(
        "eval", "serving", str(SEEDS / "fcfs_watermark.py"), "--instances", str(trace), "--sweep-rate",
        "--rate-from", "2", "--bisections", "3",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    tried = {
        float(r): float(a) for r, a in re.findall(r"^rate ([\d.]+)/s: ok, attainment ([\d.]+)%", result.stdout, re.M)
    }
    capacity = float(re.search(r"capacity: ([\d.]+) requests/s", result.stdout).group(1))
    assert len(tried) == len(re.findall(r"^rate [\d.]+/s:", result.stdout, re.M)) >= 5  # every evaluation succeeded
    assert tried[min(tried, key=lambda r: abs(r - capacity))] >= 90.0  # capacity is a rate that met the target
    above = [rate for rate in tried if rate > capacity]
    assert above and tried[min(above)] < 90.0  # and the closest rate tried above it did not
    # bisection narrowed the bracket 3 times (rates are printed to 4 significant digits)
    assert min(above) - capacity <= 0.5 * capacity / 2**3 + 1e-3 * min(above)
    table = [line.split() for line in result.stdout.splitlines() if re.match(r"^\d", line)]
    assert [float(row[0]) for row in table] == sorted(tried)  # one table row per rate, in increasing order


def test_sweep_rate_on_a_problem_without_arrival_rates_is_a_clear_error():
    result = adrs("eval", "tardiness", str(SEEDS.parent / "tardiness" / "edd.py"), "--split", "smoke", "--sweep-rate")
    assert result.returncode == 2
    assert (
        result.stderr.startswith("adrs: error:") and "--sweep-rate is for problems with arrival rates" in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_an_unknown_split_is_a_clear_error_naming_the_problems_settings():
    result = adrs("bench", "serving", "--split", "validation")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "serving has no split 'validation'" in result.stderr and "lit-past-future" in result.stderr
