"""Scenarios from one's own traces: windows and starts in hours at any tick length, multi-zone sets with their own
prices, per-tick prices, and clear errors for traces that cannot hold the job (``problems/spot/files.py``)."""

from __future__ import annotations

import json
import random

import pytest

from problems.base import ProblemError
from problems.registry import load
from problems.spot.files import FilePlan, scenario_cells

GAP = 195.0  # seconds per tick, as in the ADRS multi-region traces


def write_trace(path, flags, gap=GAP, prices=None):
    raw = {"metadata": {"gap_seconds": gap}, "data": flags}
    if prices is not None:
        raw["prices"] = prices
    path.write_text(json.dumps(raw))
    return path


def nine_zones(tmp_path, ticks=2216):
    """Nine zone files of 120 h at 195 s; zone 5 (index 4) has a price per tick in its file."""
    rng = random.Random(9)
    traces, lines = [], []
    for k in range(9):
        flags = [int(rng.random() < 0.6) for _ in range(ticks)]
        prices = [round(0.8 + 0.001 * (t % 50), 3) for t in range(ticks)] if k == 4 else None
        write_trace(tmp_path / f"region{k}.json", flags, prices=prices)
        traces.append((flags, prices))
        lines.append(f'{{trace = "region{k}.json", price = {0.5 + 0.1 * k:.1f}}}')
    (tmp_path / "nine.toml").write_text(
        "deadlines = [52.0]\noverheads = [0.2]\nwindow_hours = 60.0\nstart_hours = [0.0, 10.0, 50.0]\n"
        f'[[environments]]\nname = "nine"\nzones = [{", ".join(lines)}]\n'
    )
    return tmp_path / "nine.toml", traces


def test_a_nine_zone_set_at_195_s_ticks_has_the_windows_starts_and_prices_computed_by_hand(tmp_path):
    path, traces = nine_zones(tmp_path)
    cells = scenario_cells(path, FilePlan())
    assert [group for group, _ in cells] == ["nine-9z-52h-0.2h"] * 3
    # 60 h of 195 s ticks: ceil(1107.7) = 1108; 10 h and 50 h: round(184.6) = 185, round(923.1) = 923.
    for (_, data), start in zip(cells, (0, 185, 923)):
        assert data["gap_seconds"] == GAP and data["task_hours"] == 48.0 and data["deadline_hours"] == 52.0
        assert len(data["zones"]) == 9
        for k, (zone, (flags, prices)) in enumerate(zip(data["zones"], traces)):
            assert zone["name"] == f"region{k}"
            assert zone["available"] == "".join(map(str, flags[start : start + 1108]))
            if prices is None:
                assert zone["spot_price"] == pytest.approx(0.5 + 0.1 * k)
            else:  # the file's own prices win over the zone's fixed one
                assert zone["spot_price"] == prices[start : start + 1108]


def test_a_single_file_at_195_s_gets_the_literatures_start_times_and_window_in_its_own_ticks(tmp_path):
    path = write_trace(tmp_path / "mine.json", [1, 1, 0] * 1000)  # 3,000 ticks: 162.5 h
    cells = scenario_cells(path, FilePlan(deadlines=(52.0,), overheads=(0.2,)))
    # The window: 554 ticks of 600 s (92.3 h) is ceil(1704.6) = 1705 ticks of 195 s; the literature's start ticks
    # whose window fits (62, 37, 142, 3, 16, 214, 382 of 600 s) fall at these ticks of 195 s:
    starts = (191, 114, 437, 9, 49, 658, 1175)
    flags = "110" * 1000
    assert [data["zones"][0]["available"] for _, data in cells] == [flags[s : s + 1705] for s in starts]


def test_traces_that_cannot_hold_the_job_or_the_windows_are_refused(tmp_path):
    short = write_trace(tmp_path / "short.json", [1] * 738)  # 40 h of 195 s ticks
    with pytest.raises(ProblemError, match=r"short: the traces cover 40.0 h .* less than the job's 48 h"):
        scenario_cells(short, FilePlan())
    path = write_trace(tmp_path / "mine.json", [1] * 1200)  # 65 h
    with pytest.raises(ProblemError, match=r"starting at 20 h leave the traces \(65.0 h\)"):
        scenario_cells(path, FilePlan(window_hours=60.0, start_hours=(0.0, 20.0)))
    (tmp_path / "bad.toml").write_text('window = 5\n[[environments]]\nzones = ["mine.json"]\n')
    with pytest.raises(ProblemError, match="unknown key.* window;"):
        scenario_cells(tmp_path / "bad.toml", FilePlan())


def test_a_two_zone_set_loads_as_instances_with_optima(tmp_path):
    rng = random.Random(2)
    for name in ("east", "west"):
        write_trace(tmp_path / f"{name}.json", [int(rng.random() < 0.5) for _ in range(1200)], gap=600.0)
    (tmp_path / "two.toml").write_text(
        "deadlines = [52.0]\noverheads = [0.2]\nstart_hours = [0.0]\nwindow_hours = 60.0\n"
        '[[environments]]\nzones = [{trace = "east.json", price = 0.9}, {trace = "west.json", price = 1.4}]\n'
    )
    [instance] = load("spot").load_instances(tmp_path / "two.toml")
    assert instance.group == "env1-2z-52h-0.2h" and instance.reference_kind == "optimum"
    assert [z["spot_price"] for z in instance.data["zones"]] == [0.9, 1.4]
    assert 0 < instance.reference <= 3.06 * 48  # never dearer than on-demand throughout
