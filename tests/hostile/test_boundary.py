"""Attacks on the boundary between a candidate and its score (issue 14), run through the real loop.

Classes: 1 measured figures written by the candidate, 2 reading the previous candidate, 3 IPC objects that
outlive it, 4 a clean-up it breaks, 5 work done at load time and the problem's files, 7 the size of a whole
request's output, 9 privileges (nested user namespaces, capabilities, tracing, uids shared between runs).
Class 6 (seeing the future in a simulation) is in test_hidden_state.py, class 8 (two writers of one run) in
test_two_writers.py.

The programs of ``boundary/`` run in one sandbox, one after another in a fixed order: each attack is followed by
a detector that fails loudly if anything of it is left (a process, a SysV object, a file, a full /tmp), and each
copycat runs right after ATC, whose answers it would copy if it could reach them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import attack, expectation, matches, programs_in
from processes import alive, descendants_of

from evaluators.sandbox import SandboxLimits
from problems.base import seeds_dir

HERE = Path(__file__).resolve().parent
# Variants of one program: the value of a constant it defines.
VARIANTS = {"c1_reply_carries_its_own_seconds": {"FORGED": ("0.0", "-5.0", 'float("nan")', '"0 ms"')}}


def attacks() -> list[tuple[str, Path, str]]:
    """(name, file, code) of every attack, each variant of a program under its own name."""
    found = []
    for path in programs_in(HERE / "boundary"):
        code = path.read_text()
        for constant, values in VARIANTS.get(path.stem, {}).items():
            for value in values:
                variant = code.replace(f"\n{constant} = ", f"\n{constant} = {value}  # ", 1)
                found.append((f"{path.stem}[{constant}={value}]", path, variant))
        if path.stem not in VARIANTS:
            found.append((path.stem, path, code))
    return found


ATTACKS = attacks()
SEEDS = seeds_dir() / "tardiness"
IDENTITY = "def schedule(p, w, d):\n    return list(range(len(p)))\n"
DETECTOR = """
import os


def _layout():  # what of /tmp the sandbox itself made: folders leading to files it shows (a checkout in /tmp)
    mounts = [line.split()[4] for line in open("/proc/self/mountinfo")]
    return {point.split("/")[2] for point in mounts if point.startswith("/tmp/")}


def _left_behind():
    found, here, layout = [], os.getcwd(), _layout()
    others = [name for name in os.listdir("/tmp") if os.path.join("/tmp", name) != here and name not in layout]
    if others:
        found.append(f"/tmp holds {others}")
    if os.listdir(here):
        found.append("its own directory is not empty")
    for kind in ("shm", "sem", "msg"):
        if open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]:
            found.append(f"SysV {kind} objects")
    if os.listdir("/dev/shm"):
        found.append("POSIX shared memory")
    try:
        with open("room", "wb") as file:
            file.write(b"x" * (8 << 20))
        os.unlink("room")
    except OSError as exc:
        found.append(f"no room in /tmp ({exc})")
    return found


def schedule(p, w, d):
    found = _left_behind()
    if found:
        raise RuntimeError("left behind: " + "; ".join(found))
    return list(range(len(p)))
"""
# Small caps, so that the attacks on them are quick: a 64 MiB /tmp, 1 MiB per instance, 2 MiB per request.
LIMITS = SandboxLimits(memory_mb=512, tmp_mb=64, output_bytes=1 << 20, request_output_bytes=2 << 20)


def batch() -> list[tuple[str, str]]:
    """The controls, then each attack (a copycat right after ATC) and a detector after it. Copies differ by a
    constant: the loop would not store (nor run) a program twice."""
    atc = (SEEDS / "atc.py").read_text()
    programs = [("identity", IDENTITY)]
    for name, _, code in ATTACKS:
        if name.startswith("c2_"):
            programs.append((f"atc_before_{name}", f"{atc}\nRUNS_BEFORE = {name!r}\n"))
        programs.append((name, code))
        programs.append((f"after_{name}", f"RUNS_AFTER = {name!r}\n{DETECTOR}"))
    return programs


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, processes_before_the_attacks):
    folder = tmp_path_factory.mktemp("boundary")
    return attack("tardiness", batch(), folder, 1, LIMITS, 2.0, (SEEDS / "edd.py").read_text())


def test_the_suite_holds_two_variants_of_each_class_here():
    classes = [name.split("_")[0] for name, _, _ in ATTACKS]
    assert all(classes.count(c) >= 2 for c in ("c1", "c2", "c3", "c4", "c5", "c7", "c9")), classes


def test_the_run_goes_on_to_its_end(attacked):
    assert attacked.outcome.status == "finished"
    assert len(attacked.archive.programs(attacked.run_id)) == 1 + len(batch())


@pytest.mark.parametrize(("name", "path"), [(name, path) for name, path, _ in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_each_attack_is_recorded_with_a_specific_outcome(attacked, name, path):
    record = attacked.record(name)
    statuses, reasons = expectation(path)
    assert record.status in statuses, (record.status, attacked.feedback(name))
    assert "ESCAPED" not in attacked.feedback(name)
    if record.status != "ok":
        assert matches(attacked.feedback(name), reasons), attacked.feedback(name)


@pytest.mark.parametrize("name", [name for name, _, _ in ATTACKS])
def test_nothing_an_attack_leaves_reaches_the_next_candidate(attacked, name):
    detector = f"after_{name}"
    assert attacked.record(detector).status == "ok", attacked.feedback(detector)


def test_a_copycat_scores_as_itself_right_after_atc(attacked):
    own = attacked.record("identity").metrics("train")["gap"]
    for copycat in ("c2_copycat_gc", "c2_copycat_frames"):
        atc = attacked.record(f"atc_before_{copycat}").metrics("train")["gap"]
        assert atc < own / 10  # ATC's answers were there to copy, had the copycat reached them
        assert attacked.record(copycat).metrics("train")["gap"] == own


def test_a_reply_that_carries_its_own_time_is_not_scored(attacked):
    for name, _, _ in ATTACKS:
        if name.startswith("c1_"):
            record = attacked.record(name)
            assert record.metrics("smoke") is None and record.metrics("train") is None


def test_work_done_at_load_time_is_charged_to_the_instances(attacked):
    loads = attacked.record("c5_work_at_import").metrics("smoke")["time_ms"]
    calls = attacked.record("identity").metrics("smoke")["time_ms"]
    assert loads >= 0.9 * 600 / 3 and loads > calls + 150  # 0.6 s at load, shared by 3 smoke instances


def test_no_process_of_any_attack_survives(attacked, processes_before_the_attacks):
    survivors = set(descendants_of(os.getpid())) - processes_before_the_attacks
    assert [pid for pid in survivors if alive(pid)] == []


UID_PROBE = "import os\n\n\ndef schedule(p, w, d):\n    raise RuntimeError(f'running as uid {os.getuid()}')\n"
# Holds its sandbox for a while (once: the first call), so that the other run starts while it is alive.
HOLD = """import time

HELD = []


def schedule(p, w, d):
    HELD or HELD.append(time.sleep(6))
    return list(range(len(p)))
"""
OTHER_RUN = """
import sys
sys.path[:0] = {paths!r}
from harness import attack
from test_boundary import HOLD, IDENTITY, LIMITS, UID_PROBE
from pathlib import Path
run = attack("tardiness", [("uid", UID_PROBE), ("hold", HOLD)], Path({folder!r}), 1, LIMITS, 8.0, IDENTITY)
print(run.feedback("uid"))
"""


def _uid(feedback: str) -> str:
    return feedback.split("running as uid ")[1].split()[0]


def test_two_runs_at_once_give_their_candidates_different_uids(tmp_path):
    """Class 9: one run's candidate processes never share a uid (and so a process limit) with another's."""
    (tmp_path / "other").mkdir()
    (tmp_path / "this").mkdir()
    script = OTHER_RUN.format(paths=[str(HERE), str(HERE.parent)], folder=str(tmp_path / "other"))
    other = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=HERE.parents[1])
    deadline = time.monotonic() + 60
    while not any("bwrap" in _command(pid) for pid in descendants_of(other.pid)):  # its sandbox is up
        assert time.monotonic() < deadline and other.poll() is None, "the other run did not start its sandbox"
        time.sleep(0.05)
    this = attack("tardiness", [("uid", UID_PROBE)], tmp_path / "this", 1, LIMITS, 2.0, IDENTITY)
    assert other.poll() is None, "the other run's sandbox was alive all along"
    printed, _ = other.communicate(timeout=120)
    assert other.returncode == 0, printed
    assert os.geteuid() != 0 or _uid(this.feedback("uid")) != _uid(printed), (this.feedback("uid"), printed)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
