"""Running the search loop in a test, with one mutator and no command line."""

from __future__ import annotations

from evaluators.evaluator import Evaluator
from evaluators.pool import LocalPool
from evolve.archive.store import Archive, sqlite_url
from evolve.config import RunConfig
from evolve.mutator import Candidate, MutationContext
from evolve.search.loop import Loop


def run_loop(problem, config: RunConfig, mutator, run_dir):
    """Run the loop with one mutator on a pool of the config's size; (outcome, archive, run id)."""
    pool = LocalPool(problem.spec.runner, problem.spec.entry_point, problem.spec.seconds_per_instance, config.workers)
    archive = Archive(sqlite_url(run_dir))
    run_id = archive.create_run(problem.name, config.to_dict(), config.seed)
    try:
        evaluator = Evaluator(problem, pool)
        outcome = Loop(config, evaluator, archive, run_id, {mutator.name: mutator}, run_dir, lambda _: None).run()
    finally:
        pool.close()
    return outcome, archive, run_id


class Proposes:
    """Proposes fixed programs once, at the first iteration."""

    name = "scripted"

    def __init__(self, *codes: str):
        self.codes = list(codes)

    def propose(self, context: MutationContext) -> list[Candidate]:
        codes, self.codes = self.codes, []
        return [Candidate(code, self.name, (context.parent.id,), f"program {i}") for i, code in enumerate(codes)]
