"""What the loop says after each committed iteration, as figures (for a progress bar) and as a line (for a log)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IterationProgress:
    """The run right after iteration ``iteration`` was committed.

    Attributes:
        iteration: the iteration just committed; ``total``: the iterations the run is to do.
        new: programs the iteration stored, of which ``failed`` failed a stage, ``duplicates`` behaved as their
            parent did and ``screened`` lost to their parent on the screen.
        programs: programs in the archive; ``evaluations``: sandbox runs so far, tuning included.
        best: the primary objective's best train value on the frontier, with its name and unit.
        frontier: programs on the train frontier; ``wall_seconds``: the run's wall time so far.
    """

    iteration: int
    total: int
    new: int
    failed: int
    duplicates: int
    screened: int
    programs: int
    evaluations: int
    best: str
    frontier: int
    wall_seconds: float

    def line(self) -> str:
        screened = f", {self.screened} screened out" if self.screened else ""
        return (
            f"iteration {self.iteration}/{self.total}: {self.new} new ({self.failed} failed, "
            f"{self.duplicates} behavioural duplicates{screened}), {self.programs} programs, "
            f"{self.evaluations} evaluations, best {self.best}, frontier {self.frontier}, {self.wall_seconds:.0f} s"
        )
