"""Simulations across the boundary: instances in lockstep, one frame per round each way, and a mirror on the
policy's side that sees what the policy sees in an in-process simulation, and nothing more."""

from __future__ import annotations

import json
import marshal
import random
import types

import pytest

from evaluators import candidate_process
from evaluators.lockstep import PolicyError, SessionTimeout, play_locally, run_session
from problems.registry import load
from problems.serving import runner as serving_runner
from problems.serving.sim import Workload, simulate
from problems.spot import runner as spot_runner
from problems.spot.sim import Scenario
from problems.spot.sim import simulate as simulate_spot


class Countdown:
    """A runner whose instance ``n`` asks ``n`` questions, each answered with the question plus one."""

    @staticmethod
    def drive(n):
        total = 0
        for question in range(n):
            answer = yield question
            if answer != question + 1:
                raise PolicyError(f"question {question}: wrong answer {answer!r}")
            total += answer
        return total

    @staticmethod
    def play(candidate):
        question = yield
        while True:
            yield candidate.answer(question)
            question = yield


class LocalChannel:
    """The candidate's process in this one: each exchange goes through its round handler, timed as ``spent``."""

    def __init__(self, candidate, spent=0.01):
        self.players, self.candidate, self.spent, self.rounds = {}, candidate, spent, 0

    def exchange(self, payload: bytes, seconds: float):
        self.rounds += 1
        if self.spent > seconds:
            raise TimeoutError
        observations, answered = marshal.loads(payload[1:]), []
        text = candidate_process._round(self.players, observations, Countdown, self.candidate, answered)
        for index in answered:
            next(self.players[index])
        return text.encode(), self.spent


def test_instances_advance_together_and_each_is_charged_its_share_of_the_rounds_it_was_in():
    candidate = types.SimpleNamespace(answer=lambda q: q + 1)
    channel = LocalChannel(candidate)
    replies, charged = run_session(Countdown, [0, 1, 3], channel, limit=10.0)
    assert [json.loads(r) for r in replies] == [{"output": 0}, {"output": 1}, {"output": 6}]
    assert channel.rounds == 3  # as many rounds as the longest instance has questions
    assert charged == pytest.approx([0.0, 0.01 / 2, 0.01 / 2 + 0.01 / 1 + 0.01 / 1])


def test_a_wrong_answer_or_a_raising_policy_ends_its_instance_only():
    def answer(q):
        if q == 1:
            raise ValueError("no idea")
        return q + 1

    replies, _ = run_session(Countdown, [2, 3, 4], LocalChannel(types.SimpleNamespace(answer=answer)), 10.0)
    errors = [json.loads(r)["error"] for r in replies]
    assert all(e.startswith("ValueError: no idea") for e in errors)  # each met question 1 first
    replies, _ = run_session(Countdown, [1, 3], LocalChannel(types.SimpleNamespace(answer=answer)), 10.0)
    assert json.loads(replies[0]) == {"output": 1} and "no idea" in json.loads(replies[1])["error"]
    replies, _ = run_session(Countdown, [2], LocalChannel(types.SimpleNamespace(answer=lambda q: q)), 10.0)
    assert json.loads(replies[0]) == {"error": "question 0: wrong answer 0"}


def test_time_is_limited_per_instance():
    with pytest.raises(SessionTimeout):
        run_session(Countdown, [50], LocalChannel(types.SimpleNamespace(answer=lambda q: q + 1), 0.1), limit=1.0)


def _random_scheduler(seed: int):
    """Admits, chunks and preempts at random (and so meets every path of the engine), deterministically per
    seed, and records the state it is shown at every call."""
    rng, seen = random.Random(seed), []

    def schedule(state):
        seen.append(
            (state.clock, state.iteration, state.free_blocks, list(state.finished_output_lengths))
            + tuple((r.id, r.generated, r.prefilled, r.preemptions, r.first_token_time) for r in state.running)
            + tuple((r.id, r.prefilled, r.context_tokens) for r in state.waiting)
        )
        prefill, free = {}, state.free_blocks
        for r in state.running + state.waiting:
            if r.remaining_prefill and rng.random() < 0.7:
                tokens = min(r.remaining_prefill, rng.choice([16, 64, 512, 10**6]))
                need = -(-(r.prefilled + tokens + 1) // state.block_size) - r.blocks
                if need < free - 4:
                    prefill[r.id] = tokens
                    free -= need
        running = [r.id for r in state.running if r.id not in prefill]
        preempt = running[-1:] if running and rng.random() < 0.02 else []
        return {"prefill": prefill, "preempt": preempt}

    return schedule, seen


def test_the_policys_mirror_shows_it_what_an_in_process_simulation_shows_and_the_same_log_results():
    instance = load("serving").instances("smoke")[0]
    schedule, in_process = _random_scheduler(7)
    expected = simulate(Workload.from_data(instance.data), schedule).log
    schedule, across = _random_scheduler(7)
    log = play_locally(serving_runner, types.SimpleNamespace(schedule=schedule), instance.data)
    assert log == expected and across == in_process and len(log) > 1000


def test_the_spot_policy_sees_the_same_ticks_and_makes_the_same_log_across_the_boundary():
    problem = load("spot")
    for instance in problem.instances("smoke"):
        rng_a, rng_b = random.Random(3), random.Random(3)
        seen_a, seen_b = [], []

        def policy(rng, seen):
            def decide(state):
                seen.append((state.tick, state.spot, state.history[-3:], state.done, state.slack, state.preempted))
                return rng.choice(["idle", "on_demand", ("on_demand", 0)] + (["spot"] if state.has_spot else []))

            return decide

        expected = simulate_spot(Scenario.from_data(instance.data), policy(rng_a, seen_a)).log
        log = play_locally(spot_runner, types.SimpleNamespace(decide=policy(rng_b, seen_b)), instance.data)
        assert log == expected and seen_a == seen_b
