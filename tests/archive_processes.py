"""What the archive tests run in spawned processes. A spawned process imports these functions by their module's
name, which a test module (imported by pytest under a name of its own) may not have in the child."""

from __future__ import annotations

import traceback

from evaluators.evaluator import EvaluationResult
from evolve.archive.store import Archive, NewLLMCall, NewProgram

ITERATIONS = 30


def new_program(code: str, parent: tuple[int, ...] = (), status: str = "ok") -> NewProgram:
    evaluations = [EvaluationResult("smoke", "ok", {"gap": 1.0}), EvaluationResult("train", status, {"gap": 2.0})]
    return NewProgram(code, f"hash-{code}", parent, 0, len(parent), "genetic", "a note", evaluations)


def open_archive(url: str) -> bool:
    archive = Archive(url)
    archive.close()
    return True


def write_run(url: str, name: str, start, results) -> None:
    """Commit ITERATIONS iterations as fast as possible, once the other writer is ready too."""
    try:
        archive = Archive(url)
        run_id = archive.create_run("tardiness", {"writer": name}, 0)
        start.wait(timeout=60)
        returned: list[list[int | None]] = []
        for i in range(1, ITERATIONS + 1):
            programs = [new_program(f"{name}-{i}-{k}") for k in range(3)]
            programs.append(new_program(f"both-{i}"))  # the other run stores it too: dedup is per run
            programs.append(new_program(f"{name}-{max(i - 1, 1)}-0"))  # stored already (or just above): None
            calls = [] if i == 1 else [_call(name, i, parent=returned[-1][0])]
            returned.append(archive.commit_iteration(run_id, i, programs, evaluations_spent=2, llm_calls=calls))
        archive.close()
        results.put((name, run_id, returned))
    except BaseException:
        results.put((name, None, traceback.format_exc()))


def _call(name: str, iteration: int, parent: int) -> NewLLMCall:
    return NewLLMCall(
        "model", f"{name}-{iteration}", (("user", "improve it"),), 0.0, "a reply", "applied", "", parent,
        prompt_tokens=3, completion_tokens=4, dollars=0.25, child=0,
    )  # fmt: skip
