"""The scores of every shipped program (baselines and seed) on every split of every problem, per instance.

`tests/test_baseline_scores.py` compares a fresh evaluation with `tests/data/baseline_scores.json`, written by
this module from the code before the sandbox's trust boundary was redrawn (issue 14), so that a change to the
sandbox, a runner or a simulator that alters an honest program's score fails a test. Measured figures (time per
instance, and the objectives derived from it) are left out: they depend on the machine.

Regenerate (only when a change of scores is intended, and say why in the commit):

    python tests/baseline_scores.py --write [--problem NAME]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluators.evaluator import Evaluator  # noqa: E402
from evaluators.pool import LocalPool  # noqa: E402
from evaluators.sandbox import SandboxLimits  # noqa: E402
from problems import registry  # noqa: E402
from problems.base import SPLITS  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "baseline_scores.json"
# Metrics taken from the clock, not from the output: they differ from machine to machine and run to run.
MEASURED = {"time_ms", "runtime_ms", "seconds"}
# The digest of each output's bytes as sent (for the search's behaviour check): its encoding, not its value,
# which the verifier's values already pin.
NOT_PINNED = MEASURED | {"output_digest"}


def scores(problem_name: str, workers: int = 2, splits: tuple[str, ...] = SPLITS) -> dict[str, dict[str, dict]]:
    """``{program: {split: {"status", "metrics", "instances"}}}`` of one problem.

    ``metrics`` holds every unmeasured metric of the split; ``instances`` is a digest of every instance's
    unmeasured verifier values (kept in full they would make megabytes for spot's 1,620 test scenarios). The
    instances are the generated ones even where public data sets are at hand (serving's Azure windows), so that
    the table holds on every machine."""
    with tempfile.TemporaryDirectory() as empty, _environment("ADRS_DATA_DIR", empty):
        return _scores(problem_name, workers, splits)


@contextlib.contextmanager
def _environment(name: str, value: str):
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def _scores(problem_name: str, workers: int, splits: tuple[str, ...]) -> dict[str, dict[str, dict]]:
    problem = registry.load(problem_name)
    files = problem.baselines() + [problem.seed_program()]
    spec = problem.spec
    limits = SandboxLimits(memory_mb=spec.memory_mb, cpu_seconds=spec.cpu_seconds)
    pool = LocalPool(spec.runner, spec.entry_point, spec.seconds_per_instance, workers, limits)
    result: dict[str, dict[str, dict]] = {path.stem: {} for path in files}
    clocked = {o.name for o in spec.objectives if o.measured}  # the problem's own wall-time objectives
    try:
        evaluator = Evaluator(problem, pool)
        for split in splits:
            for path, evaluation in zip(files, evaluator.evaluate_many([p.read_text() for p in files], split)):
                result[path.stem][split] = {
                    "status": evaluation.status,
                    "metrics": _unmeasured(evaluation.metrics, clocked),
                    "instances": instances_digest(evaluation.per_instance),
                }
    finally:
        pool.close()
    return result


def _unmeasured(values: dict, clocked: set[str] = frozenset()) -> dict:
    return {k: v for k, v in values.items() if k not in NOT_PINNED and k not in clocked}


def instances_digest(records: list[dict]) -> str:
    """SHA-256 of every record's unmeasured values, floats to 10 significant digits (so that a last-bit change of
    a numpy release does not count, while any change of a decision does)."""
    canonical = [
        {k: float(f"{v:.10g}") if isinstance(v, float) else v for k, v in sorted(_unmeasured(r).items())}
        for r in records
    ]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"write {FIXTURE.relative_to(ROOT)}")
    parser.add_argument("--problem", action="append", help="recompute only this problem's rows (repeatable)")
    args = parser.parse_args()
    table = json.loads(FIXTURE.read_text()) if args.problem and FIXTURE.is_file() else {}
    table.update({name: scores(name) for name in args.problem or registry.available()})
    text = json.dumps(table, indent=1, sort_keys=True)
    if args.write:
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
