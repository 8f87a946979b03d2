"""The run's progress on a terminal: one bar with the elapsed time, an estimate of the time left, the best value so
far and the failures; other lines (warnings, dropped models) print above it. Where the output is not a terminal
(a file, a pipe, CI), each iteration is one plain line instead, as a log should be."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from evolve.search.progress import IterationProgress


class ProgressBar:
    """``report`` and ``progress`` for a ``Loop``, on ``out`` (standard output by default)."""

    def __init__(self, out: TextIO | None = None):
        self.out = out or sys.stdout
        self.interactive = self.out.isatty()
        self._bar: Any = None  # a tqdm bar, made at the first iteration (it needs the total)
        self._failed = 0

    def report(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.out)
        else:
            print(line, file=self.out, flush=True)

    def progress(self, figures: IterationProgress) -> None:
        if not self.interactive:
            self.report(figures.line())
            return
        if self._bar is None:
            from tqdm import tqdm  # deferred: only a terminal needs it

            before = figures.iteration - 1
            self._bar = tqdm(total=figures.total, initial=before, file=self.out, unit="it", dynamic_ncols=True)
        self._failed += figures.failed
        self._bar.set_postfix_str(
            f"best {figures.best}, {figures.programs} programs, {self._failed} failed this session", refresh=False
        )
        self._bar.update(figures.iteration - self._bar.n)

    def close(self) -> None:
        """Ends the bar (the summary prints below it)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
