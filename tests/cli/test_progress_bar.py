"""The run's progress: a bar with time left, the best value and failures on a terminal, plain lines elsewhere."""

from __future__ import annotations

import io

from evolve.cli.progress_bar import ProgressBar
from evolve.search.progress import IterationProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def figures(iteration: int, failed: int = 0, best: str = "gap 3.5%") -> IterationProgress:
    return IterationProgress(iteration, 10, 2, failed, 0, 0, 10 + 2 * iteration, 20 * iteration, best, 3, 1.5)


def test_on_a_terminal_one_bar_shows_progress_time_left_best_and_failures():
    out = Terminal()
    bar = ProgressBar(out)
    bar.progress(figures(1, failed=1))
    bar.report("model openai/x dropped after 3 failed calls in a row")
    bar.progress(figures(2, failed=2, best="gap 2.1%"))
    bar.close()
    frames = out.getvalue().split("\r")
    last = [frame for frame in frames if "2/10" in frame][-1]
    assert "20%" in last and "<" in last  # elapsed<left, tqdm's estimate of the time left
    assert "best gap 2.1%" in last and "3 failed this session" in last
    assert "model openai/x dropped" in out.getvalue()
    assert "iteration 2/10:" not in out.getvalue()  # no log lines on a terminal


def test_elsewhere_each_iteration_is_one_plain_line():
    out = io.StringIO()
    bar = ProgressBar(out)
    bar.progress(figures(1))
    bar.report("a warning")
    bar.progress(figures(2, failed=1))
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("iteration 1/10: 2 new (0 failed") and lines[1] == "a warning"
    assert lines[2] == figures(2, failed=1).line() and "\r" not in out.getvalue()


def test_a_resumed_run_starts_its_bar_where_it_left_off():
    out = Terminal()
    bar = ProgressBar(out)
    bar.progress(figures(7))
    bar.close()
    assert "7/10" in out.getvalue() and "1/10" not in out.getvalue()
