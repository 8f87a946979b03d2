"""A simulation problem's instances, run in lockstep across the trust boundary. Standard library only.

The runner of a simulation problem (``serving``, ``spot``) has two halves. ``drive(data)`` runs here, in the
sandbox server, with the whole instance: a generator that yields what the policy may observe before each
decision, receives the policy's answer (untrusted JSON), and returns the instance's output (its decision log)
or raises ``PolicyError``. ``play(candidate)`` runs in the candidate's process and sees nothing but those
observations: a generator that receives each one and yields the candidate's answer. So hidden data (true output
lengths, future availability) never enters the candidate's process.

All instances advance together: one round sends every running instance's observation in one frame and reads
every answer in one, so a split of many small instances costs as many round trips as its longest instance has
decisions. A round's time is shared equally by the instances in it; each instance may use up to the problem's
``seconds_per_instance`` in all.
"""

from __future__ import annotations

import json
import marshal
from collections.abc import Generator
from typing import Any

from evaluators.frames import Channel


class PolicyError(Exception):
    """Raised by a driver: the policy's answer ended the instance; the message is the candidate's error."""


class SessionTimeout(TimeoutError):
    """An instance used its time; ``index`` says which."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def error_reply(text: Any) -> bytes:
    return json.dumps({"error": str(text)[:2000]}).encode()


def run_session(runner: Any, instances: list, channel: Channel, limit: float) -> tuple[list[bytes], list[float]]:
    """Each instance's reply (JSON ``{"output": ...}`` or ``{"error": ...}``) and the seconds charged to it."""
    replies: list[bytes] = [b""] * len(instances)
    charged = [0.0] * len(instances)
    drivers: dict[int, Generator] = {}
    pending: dict[int, Any] = {}
    for index, data in enumerate(instances):
        drivers[index] = runner.drive(data)
        try:
            pending[index] = next(drivers[index])
        except StopIteration as done:
            replies[index] = json.dumps({"output": done.value}).encode()
    # Every instance still running has been in every round so far, so all have been charged the same: ``share``.
    share = 0.0
    while pending:
        order = list(pending)
        payload = b"B" + marshal.dumps([[i, pending[i]] for i in order])
        try:
            frame, spent = channel.exchange(payload, (limit - share) * len(order))
        except TimeoutError:
            raise SessionTimeout(order[0]) from None
        share += spent / len(order)
        answers = json.loads(frame)
        if isinstance(answers, dict) and list(answers) == ["error"]:  # the candidate's side failed as a whole
            answers = [answers] * len(order)
        if not isinstance(answers, list) or len(answers) != len(order):
            raise ValueError(f"the candidate process answered {len(order)} observations with a malformed reply")
        pending = {}
        for index, answer in zip(order, answers):
            if answer.__class__ is dict and list(answer) == ["error"]:
                replies[index] = error_reply(answer["error"])
            else:
                try:
                    pending[index] = drivers[index].send(answer)
                    continue
                except StopIteration as done:
                    replies[index] = json.dumps({"output": done.value}).encode()
                except PolicyError as exc:
                    replies[index] = error_reply(exc)
            charged[index] = share
    return replies, charged


def play_locally(runner: Any, candidate: Any, data: Any) -> Any:
    """One instance with both halves in this process, answers passed through JSON as the sandbox passes them
    (tests and benchmarks): the output, or the exception a half raised (PolicyError: the simulation's verdict)."""
    driver, player = runner.drive(data), runner.play(candidate)
    try:
        observation = next(driver)
        next(player)
        while True:
            observation = driver.send(json.loads(json.dumps(player.send(observation))))
    except StopIteration as done:
        return done.value
