"""A simulation problem's instances, run in lockstep across the trust boundary. Standard library only.

The runner of a simulation problem (``serving``, ``spot``) has two halves. ``drive(data)`` runs here, in the
sandbox server, with the whole instance: a generator that yields what the policy may observe before each
decision, receives the policy's answer (untrusted JSON), and returns the instance's output (its decision log)
or raises ``PolicyError``. ``play(candidate)`` runs in the candidate's process and sees nothing but those
observations: a generator that is sent each one and yields the candidate's answer, then, once the answer is on
its way, is resumed to finish the round (a mirror's own step, done while the simulation does its) and yields
None. So hidden data (true output lengths, future availability) never enters the candidate's process.

All instances advance together: one round sends every running instance's observation in one frame and reads
every answer in one, so a split of many small instances costs as many round trips as its longest instance has
decisions. A round's time is shared equally by the instances in it; each instance may use up to the problem's
``seconds_per_instance`` in all.
"""

from __future__ import annotations

import json
import marshal
from typing import Any

from evaluators.frames import Channel
from problems.base import PolicyError


class SessionTimeout(TimeoutError):
    """An instance used its time; ``index`` says which."""

    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def _error_reply(text: Any) -> bytes:
    return json.dumps({"error": str(text)[:2000]}).encode()


def run_session(runner: Any, instances: list, channel: Channel, limit: float) -> tuple[list[bytes], list[float]]:
    """Each instance's reply (JSON ``{"output": ...}`` or ``{"error": ...}``) and the seconds charged to it."""
    replies: list[bytes] = [b""] * len(instances)
    charged = [0.0] * len(instances)
    drivers = [runner.drive(data) for data in instances]
    order, observations = [], []  # the running instances, and what each observes next
    for index, driver in enumerate(drivers):
        try:
            observations.append(next(driver))
            order.append(index)
        except StopIteration as done:
            replies[index] = _output(done.value)
    # Every instance still running has been in every round so far, so all have been charged the same: ``share``.
    share = 0.0
    while order:
        payload = b"B" + marshal.dumps(list(zip(order, observations)))
        try:
            frame, spent = channel.exchange(payload, (limit - share) * len(order))
        except TimeoutError:
            raise SessionTimeout(order[0]) from None
        share += spent / len(order)
        answers = _answers(frame, len(order))
        running, observations = order, []
        order = []
        for index, answer in zip(running, answers):
            if answer.__class__ is dict and list(answer) == ["error"]:
                replies[index] = _error_reply(answer["error"])
            else:
                try:
                    observations.append(drivers[index].send(answer))
                    order.append(index)
                    continue
                except StopIteration as done:
                    replies[index] = _output(done.value)
                except PolicyError as exc:
                    replies[index] = _error_reply(exc)
            charged[index] = share
    return replies, charged


_decode = json.JSONDecoder().raw_decode


def _answers(frame: bytes, count: int) -> list:
    """The candidate's answers to a round, one per observation; ValueError when malformed."""
    text = frame.decode("utf-8")
    answers, end = _decode(text)
    if end != len(text):
        raise ValueError("the candidate process sent extra data after its answers")
    if answers.__class__ is dict and list(answers) == ["error"]:  # the candidate's side failed as a whole
        return [answers] * count
    if answers.__class__ is not list or len(answers) != count:
        raise ValueError(f"the candidate process answered {count} observations with a malformed reply")
    return answers


def _output(value: Any) -> bytes:
    return json.dumps({"output": value}).encode()


def play_locally(runner: Any, candidate: Any, data: Any) -> Any:
    """One instance with both halves in this process, answers passed through JSON as the sandbox passes them
    (tests and benchmarks): the output, or the exception a half raised (PolicyError: the simulation's verdict)."""
    driver, player = runner.drive(data), runner.play(candidate)
    try:
        observation = next(driver)
        next(player)
        while True:
            answer = json.loads(json.dumps(player.send(observation)))
            next(player)
            observation = driver.send(answer)
    except StopIteration as done:
        return done.value
