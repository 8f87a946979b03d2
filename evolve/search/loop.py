"""The search loop: select parents on islands -> mutate -> evaluate -> archive, iterations in a pipeline.

The loop talks to a ``Mutator`` and an ``Evaluator`` only; it never runs candidate code itself. Up to
``pipeline_depth`` iterations are in flight at once: iteration k chooses its parents, in this thread, from the
state after iteration k - depth was committed, and its slots then propose and evaluate in worker threads while
earlier iterations finish. Iterations are committed in order, each in one transaction, and every random choice is
drawn from a generator seeded by (run seed, iteration, slot), so a run does not depend on its threads' timing and
a killed run resumes where its last committed iteration ended, launching what it had in flight as it had.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from evaluators.evaluator import Evaluator
from evolve import code_blocks
from evolve.archive.store import Archive, NewProgram, ProgramRecord
from evolve.config import RunConfig
from evolve.llm.ledger import LLMLedger
from evolve.mutator import MutationContext, Mutator
from evolve.search import records, slots
from evolve.search.behaviour import STAGE as BEHAVIOUR
from evolve.search.cascade import Cascade
from evolve.search.frontier import Frontier, oriented
from evolve.search.island import Island, Member
from evolve.search.population import INITIAL, initial_programs, starters
from evolve.search.progress import IterationProgress

if TYPE_CHECKING:
    from evolve.archive.models import LLMCall

    Event = ProgramRecord | LLMCall | tuple[int, int]  # what a resume replays: a program, a model call, a migration

STOP_FILE = "STOP"


@dataclass(frozen=True)
class LoopOutcome:
    status: str  # finished | stopped | budget | failed (no model left to ask)
    reason: str


class Loop:
    """Runs (or resumes) one run of the archive until its budget is spent or it is asked to stop."""

    def __init__(
        self,
        config: RunConfig,
        evaluator: Evaluator,
        archive: Archive,
        run_id: int,
        mutators: dict[str, Mutator],
        run_dir: Path,
        report: Callable[[str], None] = print,
        ledger: LLMLedger | None = None,
        replayed: Sequence[ProgramRecord] = (),
        after_iteration: Callable[[int], None] | None = None,
        progress: Callable[[IterationProgress], None] | None = None,
    ):
        """``after_iteration`` is called with the iteration's number once it is committed (the live report);
        ``progress`` with the run's figures then (a progress bar), else ``report`` gets them as a line."""
        self.config, self.evaluator, self.archive, self.run_id = config, evaluator, archive, run_id
        self.after_iteration, self.progress = after_iteration, progress
        self.mutators, self.run_dir, self.report, self.ledger = mutators, Path(run_dir), report, ledger
        self.objectives = config.search_objectives(evaluator.problem.spec)
        self.cascade = Cascade(config, evaluator, self.objectives, self._count, replayed)
        self.islands = [Island(i, config.population_size) for i in range(config.islands)]
        self.programs: dict[int, ProgramRecord] = {}
        self.known_hashes: dict[str, int] = {}  # normalized code hash -> iteration that stored it
        self._frontier = Frontier(self.objectives, config.timing_tolerance)
        self._count_lock = threading.Lock()
        self._tally = threading.local()  # evaluations of the slot this thread runs
        self._slot_count = config.proposals_per_iteration
        # Slots propose and evaluate at once, those of every iteration in flight: model calls of some overlap
        # evaluations of others (the ledger bounds calls in flight, the pool bounds evaluations).
        workers = self._slot_count * config.pipeline_depth
        self._slots = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slot")
        self.propose_seconds = self.evaluation_seconds = self.iteration_seconds = 0.0
        self._interrupted = False
        run = archive.run(run_id)
        self.iteration, self.evaluations, self._wall_before = run.iteration, run.evaluations, run.wall_seconds
        self._launched = self.iteration
        self._planned: deque[slots.Plan] = deque()
        if ledger is not None:
            ledger.dollars, ledger.tokens = run.dollars, run.tokens
        self._started = time.monotonic()
        self._restore()

    # -- state -----------------------------------------------------------------------------------------

    def _restore(self) -> None:
        """The state the run had after its last committed iteration: each iteration's programs, then its model
        calls (the bandit's rewards), then its migrations, in the order the run made them, since islands prune as
        they grow. On the way, the iterations the run had launched but not committed are planned again on the
        states they were planned on."""
        ordered: list[tuple[int, int, Event]] = []  # (iteration, programs 0 / model calls 1 / migrations 2, event)
        for program in self.archive.programs(self.run_id):
            self.programs[program.id] = program
            self.known_hashes[program.code_hash] = program.iteration
            ordered.append((program.iteration, 0, program))
        if self.ledger is not None and self.ledger.counts_calls():  # the bandit and roster as each commit left them
            ordered += [(call.iteration, 1, call) for call in self.archive.llm_calls(self.run_id)]
        ordered += [
            (iteration, 2, (program_id, island))
            for iteration, program_id, island in self.archive.migrations_by_iteration(self.run_id)
        ]
        ordered.sort(key=lambda entry: entry[:2])  # stable: in the order they were stored
        if ordered:
            self._plan_ahead(deque((iteration, event) for iteration, _, event in ordered))

    def _plan_ahead(self, events: deque[tuple[int, Event]]) -> None:
        """Applies ``events`` (oldest first) to the islands, the frontier and the bandit, planning
        the iterations in flight after the last committed one, each on the state after iteration k - depth."""
        for iteration in range(self.iteration + 1, self.iteration + self.config.pipeline_depth):
            while events and events[0][0] <= max(0, iteration - self.config.pipeline_depth):
                self._apply(events.popleft()[1])
            self._planned.append(self._plan(iteration))
        while events:
            self._apply(events.popleft()[1])

    def _apply(self, event: Event) -> None:
        if isinstance(event, ProgramRecord):
            self._select_from(event)
        elif isinstance(event, tuple):
            self._place(self.programs[event[0]], event[1])
        elif self.ledger is not None:  # a model call, settled as at its commit
            on_front = event.program_id is not None and any(p.id == event.program_id for p in self.frontier())
            self.ledger.observe(event.model, event.status, event.detail, event.dollars, on_front)

    def _remember(self, program: ProgramRecord) -> None:
        self.programs[program.id] = program
        self.known_hashes[program.code_hash] = program.iteration
        self._select_from(program)

    def _select_from(self, program: ProgramRecord) -> None:
        """Makes a stored program one that selection may choose, and a frontier candidate."""
        self._frontier.add(program)
        # The initial population starts every island; other programs start on the island of their parent.
        for island in range(len(self.islands)) if program.mutator in INITIAL else [program.island]:
            self._place(program, island)

    def _place(self, program: ProgramRecord, island: int) -> None:
        if program.selectable and island < len(self.islands):
            self.islands[island].add(Member(program.id, oriented(program.metrics("train"), self.objectives)))

    def time_report(self) -> str:
        """Where the slots' time went: waiting on mutators (model calls) versus on evaluations."""
        busy = self.propose_seconds + self.evaluation_seconds
        if busy <= 0 or self.iteration_seconds <= 0:
            return ""
        return (
            f"slots waited {self.propose_seconds / busy:.0%} of their time on proposals (model calls) and "
            f"{self.evaluation_seconds / busy:.0%} on evaluations; {busy / self.iteration_seconds:.1f}x overlap"
        )

    def wall_seconds(self) -> float:
        return self._wall_before + time.monotonic() - self._started

    def frontier(self) -> list[ProgramRecord]:
        """Programs not dominated on train, by primary objective."""
        return self._frontier.programs()

    # -- running ---------------------------------------------------------------------------------------

    def run(self) -> LoopOutcome:
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_interrupt)
        try:
            if not self.programs:
                self._add_initial_population()
                self._plan_ahead(deque())
            outcome = self._iterate()
            self._evaluate_frontier_on_test()
            self.archive.finish_run(self.run_id, outcome.status, self.wall_seconds())
            return outcome
        finally:
            signal.signal(signal.SIGINT, previous)
            self._slots.shutdown(wait=True)

    def _on_interrupt(self, *_: object) -> None:
        if self._interrupted:
            raise KeyboardInterrupt
        # Only a flag: printing from a signal handler can hit a half-written stdout buffer and raise.
        self._interrupted = True

    def _add_initial_population(self) -> None:
        """Iteration 0 (``population.py``): a failing seed ends the run, a failing baseline is left out."""
        starting = starters(self.evaluator.problem, self.config.baselines_in_population)
        self._tally.evaluations = 0
        histories = self.cascade.starting([code for _, _, code in starting])
        spent = self._tally.evaluations  # counted by the cascade, as a slot's are
        initial, warnings = initial_programs(starting, histories)
        for warning in warnings:
            self.report(warning)
        self.evaluations += spent
        ids = self.archive.commit_iteration(self.run_id, 0, initial, spent)
        for program_id, new in zip(ids, initial):
            self._remember(records.program_record(program_id, self.run_id, 0, new))

    def _stop_reason(self) -> LoopOutcome | None:
        config = self.config
        if self._interrupted:
            self.report("interrupted: committing the iterations in flight, then stopping (Ctrl-C again: at once)")
            return LoopOutcome("stopped", "interrupted")
        if (self.run_dir / STOP_FILE).exists():
            return LoopOutcome("stopped", f"stop file {self.run_dir / STOP_FILE} found")
        if self.ledger is not None and (spent := self.ledger.exhausted()):
            return LoopOutcome("budget", spent)
        if self.ledger is not None and (stranded := self.ledger.no_model_left()):
            return LoopOutcome("failed", stranded)
        if self._launched >= config.iterations:
            return LoopOutcome("finished", f"{config.iterations} iterations done")
        if config.max_evaluations and self.evaluations >= config.max_evaluations:
            return LoopOutcome("budget", f"evaluation budget of {config.max_evaluations} spent")
        if config.max_wall_seconds and self.wall_seconds() >= config.max_wall_seconds:
            return LoopOutcome("budget", f"wall-time budget of {config.max_wall_seconds:g} s spent")
        return None

    def _iterate(self) -> LoopOutcome:
        """Keeps ``pipeline_depth`` iterations in flight until a stop reason, then commits those in flight."""
        in_flight: deque[tuple[int, list[Future[slots.SlotWork]]]] = deque()
        outcome = None
        started = time.monotonic()
        while True:
            while outcome is None and len(in_flight) < self.config.pipeline_depth:
                outcome = self._stop_reason()
                if outcome is None:
                    self._launched += 1
                    plan = self._planned.popleft() if self._planned else self._plan(self._launched)
                    in_flight.append((plan.iteration, self._launch(plan)))
            if not in_flight:
                self._planned.clear()
                self.iteration_seconds += time.monotonic() - started
                return outcome
            iteration, futures = in_flight.popleft()
            self._commit(iteration, [future.result() for future in futures])

    def _commit(self, iteration: int, works: list[slots.SlotWork]) -> None:
        self.cascade.end_iteration(iteration)
        new_programs, calls = slots.merge(works, self.programs, self.known_hashes)
        self.iteration = iteration
        spent = sum(work.evaluations for work in works)
        self.evaluations += spent
        migrations = self._migrations() if iteration % self.config.migration_interval == 0 else []
        ids = self.archive.commit_iteration(
            self.run_id, iteration, new_programs, spent, migrations, self.wall_seconds(), calls
        )
        for program_id, new in zip(ids, new_programs):
            if program_id is not None:
                self._remember(records.program_record(program_id, self.run_id, iteration, new))
        if self.ledger is not None:
            for line in self.ledger.settle(calls, ids, {p.id for p in self.frontier()}):
                self.report(line)
        for program_id, island in migrations:
            self._place(self.programs[program_id], island)
        self._progress(new_programs)
        if self.after_iteration is not None:
            self.after_iteration(iteration)

    def _rng(self, iteration: int, slot: int) -> random.Random:
        return random.Random(f"{self.config.seed}:{iteration}:{slot}")

    def _plan(self, iteration: int) -> slots.Plan:
        """Each slot's island, parent, inspirations and mutator, chosen on the current state (in this thread)."""
        frontier = self.frontier()
        choose_model = self.ledger.chooser() if self.ledger is not None else None
        names, weights = zip(*sorted(self.config.mutators.items()))
        planned: list[slots.SlotPlan | None] = []
        for slot in range(self._slot_count):
            rng = self._rng(iteration, slot)
            island = self.islands[(iteration * self._slot_count + slot) % len(self.islands)]
            if not island.members:
                planned.append(None)
                continue
            parent = self.programs[island.select_parent(rng).program_id]
            others = [p for p in frontier if p.id != parent.id]
            inspirations = rng.sample(others, min(self.config.inspirations, len(others)))
            mutator = self.mutators[rng.choices(names, weights)[0]]
            context = MutationContext(
                records.view(parent),
                [records.view(p) for p in inspirations],
                self.objectives,
                rng,
                functools.partial(self.cascade.score, iteration=iteration),
                self.evaluator.problem.spec.description,
                choose_model,
            )
            planned.append(slots.SlotPlan(island.index, parent, mutator, context))
        return slots.Plan(iteration, max(0, iteration - self.config.pipeline_depth), planned)

    def _launch(self, plan: slots.Plan) -> list[Future[slots.SlotWork]]:
        self.cascade.start_iteration(plan.iteration)
        return [self._slots.submit(self._work, plan, slot) for slot in plan.slots]

    def _work(self, plan: slots.Plan, slot: slots.SlotPlan | None) -> slots.SlotWork:
        """One slot of an iteration: propose, evaluate. Slots run in worker threads and use only what their plan
        holds and programs stored by the iteration their plan was made on, so their timing changes nothing."""
        if slot is None:
            return slots.SlotWork([], [], [], [])
        self._tally.evaluations = 0
        proposing = time.monotonic()
        proposals, digests = [], []
        for candidate in slot.mutator.propose(slot.context):
            digest = code_blocks.normalized_hash(candidate.code)
            if self.known_hashes.get(digest, plan.state + 1) > plan.state:
                proposals.append((candidate, slot.island))
                digests.append(digest)
        calls = self.ledger.take() if self.ledger is not None else []
        started = time.monotonic()
        parents = [self.programs[candidate.parent_ids[0]] for candidate, _ in proposals]
        histories = self.cascade.children([candidate.code for candidate, _ in proposals], parents, plan.iteration)
        with self._count_lock:
            self.propose_seconds += started - proposing
            self.evaluation_seconds += time.monotonic() - started
        return slots.SlotWork(proposals, digests, histories, calls, self._tally.evaluations)

    def _count(self, evaluations: int) -> None:
        self._tally.evaluations = getattr(self._tally, "evaluations", 0) + evaluations

    def _migrations(self) -> list[tuple[int, int]]:
        moves = []
        for island in self.islands:
            target = (island.index + 1) % len(self.islands)
            if target == island.index:
                continue
            moves += [
                (m.program_id, target)
                for m in island.elites(self.config.migration_size)
                if m.program_id not in self.islands[target]
            ]
        return moves

    def _score_on_test(self, programs: Sequence[ProgramRecord]) -> None:
        """Score programs on the held-out test split (reported beside train, never used for selection)."""
        missing = [p for p in programs if "test" not in p.evaluations]
        results = self.cascade.recorded_or_run([p.code for p in missing], ("test",)) if missing else []
        for program, [result] in zip(missing, results):
            self.archive.add_evaluation(program.id, result)
            evaluations = {**program.evaluations, "test": records.evaluation_record(result)}
            self.programs[program.id] = dataclasses.replace(program, evaluations=evaluations)
            self._frontier.update(self.programs[program.id])

    def _evaluate_frontier_on_test(self) -> None:
        self.report("scoring the train frontier on the held-out test split")
        front = self.frontier()
        on_front = {p.id for p in front}
        # The seed and the baselines are the run's yardsticks, so they are scored on test even off the frontier.
        yardsticks = [p for p in self.programs.values() if p.mutator in INITIAL and p.selectable]
        self._score_on_test(front + [p for p in yardsticks if p.id not in on_front])

    def _progress(self, new_programs: list[NewProgram]) -> None:
        last = [p.evaluations[-1] for p in new_programs]
        duplicates = sum(e.split == BEHAVIOUR and not e.ok for e in last)
        screened = sum(e.status == "screened" for e in last)
        failed = sum(not e.ok for e in last) - duplicates - screened
        primary = self.objectives[0]
        best = min((p.metrics("train")[primary.name] for p in self.frontier()), key=primary.oriented)
        progress = IterationProgress(
            self.iteration, self.config.iterations, len(new_programs), failed, duplicates, screened,
            len(self.programs), self.evaluations, f"{primary.name} {best:.4g}{primary.unit}", len(self.frontier()),
            self.wall_seconds(),
        )  # fmt: skip
        if self.progress is not None:
            self.progress(progress)
        else:
            self.report(progress.line())
