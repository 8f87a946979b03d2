"""The candidate's process inside the sandbox: gives up its privileges, then serves one program. Standard library only.

Forked by the zygote (``zygote.py``) before any request exists, so its memory never held another candidate's
code, instances or outputs. It speaks frames on two pipes to the sandbox server:

- in: the program (JSON ``{"code", "entry_point"}``), then messages of one byte of kind and a body: ``C`` + JSON
  instance data (call the runner's ``run`` once), or ``B`` + marshal of ``[[index, observation], ...]`` (one
  lockstep round of a simulation: each instance's ``play`` generator answers its observation).
- out: JSON only. ``{"ready": true}`` or ``{"error": ...}`` for the program; per call ``{"output": ...}`` or
  ``{"error": ...}``; per round a list of one answer per observation, in order, an error as ``{"error": ...}``.

The server times every exchange itself; nothing written here is taken as a measurement.
"""

from __future__ import annotations

import json
import marshal
import os
import re
import resource
import sys
import traceback
import types

from evaluators import confine
from evaluators.frames import FrameReader, write_frame

_PLAIN_JSON = re.compile(r"[0-9\[\], .-]*")  # ints, floats written without exponent, lists of them

_CHILD_IN, _CHILD_OUT = 3, 4  # fixed descriptor numbers inside the candidate process


def _set_limits(limits: dict) -> None:
    memory = limits["memory_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = limits["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"],) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_bytes"],) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def child_main(options: dict, pipes: tuple[int, int, int], workdir: str, runner, seccomp: bytes | None) -> None:
    """The candidate's process: never returns. ``pipes`` are (requests in, replies out, stdout and stderr)."""
    try:
        os.setsid()
        to_child, from_child, stdio = pipes
        os.dup2(to_child, _CHILD_IN)
        os.dup2(from_child, _CHILD_OUT)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(stdio, 1)
        os.dup2(stdio, 2)
        os.closerange(_CHILD_OUT + 1, 1 << 16)
        os.sched_setaffinity(0, {options["cpus"][-1]})  # its server's core, or the other core of its sandbox
        uid = options.get("candidate_uid")
        if uid is not None:
            confine.drop_privileges(uid)
        os.chdir(workdir)
        _set_limits(options["limits"])
        if seccomp is not None:
            confine.install_seccomp(seccomp)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        _serve_candidate(runner, options["limits"]["output_bytes"], options["spin"])
    except BaseException:  # noqa: BLE001 - the child must never fall back into the zygote's loop
        pass
    os._exit(0)


def _serve_candidate(runner, output_limit: int, spin: float) -> None:
    requests = FrameReader(_CHILD_IN, spin)
    request = json.loads(requests.read(1 << 26))
    module = types.ModuleType("candidate")
    module.__file__ = "candidate.py"
    sys.modules["candidate"] = module
    try:
        exec(compile(request["code"], "candidate.py", "exec"), module.__dict__)
        if not callable(getattr(module, request["entry_point"], None)):
            raise AttributeError(f"the program does not define a function {request['entry_point']}()")
    except BaseException as exc:  # noqa: BLE001 - any failure of untrusted code is reported, not raised
        write_frame(_CHILD_OUT, json.dumps({"error": "loading the program failed: " + _describe(exc)}).encode())
        return
    del request
    write_frame(_CHILD_OUT, b'{"ready": true}')
    serving_pid = os.getpid()
    players: dict[int, object] = {}
    while True:
        message = requests.read(1 << 28)
        answered: list[int] = []
        try:
            if message[:1] == b"B":
                text = _round(players, marshal.loads(message[1:]), runner, module, answered)
            else:
                text = json.dumps({"output": runner.run(module, json.loads(message[1:]))})
        except BaseException as exc:  # noqa: BLE001 - also an answer that is not JSON data
            text = json.dumps({"error": _describe(exc)})
        if os.getpid() != serving_pid:
            # A copy the candidate forked came back through the runner: left to go on, it would answer (and
            # read requests) on the shared pipes in the candidate's place, and the replies would be a race.
            os._exit(0)
        if len(text) > output_limit:
            text = json.dumps({"error": f"output of {len(text)} bytes exceeds the limit of {output_limit} bytes"})
        write_frame(_CHILD_OUT, text.encode())
        for index in answered:  # the rest of the round, while the server takes the answers
            try:
                next(players[index])
            except BaseException:  # noqa: BLE001 - the simulation ends this instance; a new one would restart it
                players.pop(index, None)


def _round(players: dict, observations: list, runner, module, answered: list[int]) -> str:
    """One lockstep round, as JSON: each instance's answer to its observation, from its ``play`` generator
    (started on first sight; ``answered`` gets its index); an instance whose policy raises ends with the error,
    the others go on."""
    answers, failed = [], False
    for index, observation in observations:
        player = players.get(index)
        try:
            if player is None:
                player = players[index] = runner.play(module)
                next(player)
            answers.append(player.send(observation))
            answered.append(index)
        except BaseException as exc:  # noqa: BLE001 - the candidate's error, for this instance only
            players.pop(index, None)
            answers.append({"error": _describe(exc)})
            failed = True
    # Answers of ints and lists of ints have a repr that is their JSON, several times faster to make than
    # json.dumps for a decision's few bytes; anything else (None, a bool, a string) goes through json.dumps.
    if not failed:
        text = repr(answers)
        if _PLAIN_JSON.fullmatch(text):
            return text
    return json.dumps(answers)


def _describe(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "candidate.py"]
    where = f" (candidate.py line {frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {str(exc)[:500]}{where}"
