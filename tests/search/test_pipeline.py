"""Iterations in flight at once: the run does not depend on its threads' timing, and a resume goes on exactly as
the run would have gone on."""

from __future__ import annotations

import random
import time

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from evolve.archive.store import Archive, sqlite_url
from evolve.config import RunConfig
from evolve.mutator import Candidate, MutationContext
from evolve.mutators.genetic import GeneticMutator
from evolve.search.loop import Loop
from problems import registry


class Jittery:
    """The genetic mutator, after a sleep drawn from an unseeded source: slots finish in a different order on
    every run."""

    name = "genetic"

    def __init__(self):
        self.inner, self.jitter = GeneticMutator(), random.Random()

    def propose(self, context: MutationContext) -> list[Candidate]:
        time.sleep(self.jitter.uniform(0.0, 0.05))
        return self.inner.propose(context)


# Selection on gap alone: a measured time would make parents depend on the machine's load.
CONFIG = RunConfig(
    iterations=8,
    batch_size=3,
    workers=2,
    seed=3,
    pipeline_depth=3,
    islands=1,
    baselines_in_population=False,
    mutators={"genetic": 1.0},
    objectives=("gap",),
)


def _loop(problem, config, archive, run_id, pool, folder) -> Loop:
    evaluator = Evaluator(problem, pool)
    return Loop(config, evaluator, archive, run_id, {"genetic": Jittery()}, folder, lambda _: None)


def _archive(folder) -> Archive:
    folder.mkdir()
    return Archive(sqlite_url(folder))


def _programs(archive: Archive, run_id: int) -> list[tuple]:
    return [(p.iteration, p.code_hash, p.parent_ids, p.island) for p in archive.programs(run_id)]


def test_runs_in_flight_are_independent_of_timing_and_a_resume_goes_on_as_the_run_would_have(tmp_path):
    problem = registry.load("tardiness")
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, problem.spec.seconds_per_instance, 2)
    try:
        finished = []
        for name in ("a", "b"):
            archive = _archive(tmp_path / name)
            run_id = archive.create_run(problem.name, CONFIG.to_dict(), CONFIG.seed)
            assert _loop(problem, CONFIG, archive, run_id, pool, tmp_path).run().status == "finished"
            finished.append(_programs(archive, run_id))
        assert finished[0] == finished[1], "the threads' timing changed the run"
        assert max(p[0] for p in finished[0]) == CONFIG.iterations

        # Stopped after 3 iterations (iterations 4 and 5 would have been in flight), then resumed to 8.
        archive = _archive(tmp_path / "c")
        run_id = archive.create_run(problem.name, CONFIG.to_dict(), CONFIG.seed)
        _loop(problem, CONFIG.replace(iterations=3), archive, run_id, pool, tmp_path).run()
        assert archive.run(run_id).iteration == 3
        assert _loop(problem, CONFIG, archive, run_id, pool, tmp_path).run().status == "finished"
        assert _programs(archive, run_id) == finished[0]
    finally:
        pool.close()


def test_a_deeper_pipeline_chooses_parents_from_an_older_state(tmp_path):
    """With depth 1 iteration 2 may choose a child of iteration 1; with depth 2 it chooses from iteration 0's."""
    problem = registry.load("tardiness")
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, problem.spec.seconds_per_instance, 2)
    try:
        parents = {}
        for depth in (1, 2):
            config = CONFIG.replace(iterations=6, pipeline_depth=depth, islands=1)
            archive = _archive(tmp_path / str(depth))
            run_id = archive.create_run(problem.name, config.to_dict(), config.seed)
            _loop(problem, config, archive, run_id, pool, tmp_path).run()
            programs = archive.programs(run_id)
            made = {p.id: p.iteration for p in programs}
            parents[depth] = [(p.iteration, made[p.parent_ids[0]]) for p in programs if p.parent_ids]
        assert all(parent_born <= max(0, born - 2) for born, parent_born in parents[2])
        assert any(parent_born == born - 1 > 0 for born, parent_born in parents[1])
    finally:
        pool.close()
