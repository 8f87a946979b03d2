"""The tick-based engine of deadline-aware spot scheduling, shared by the sandbox and the verifier.

Standard library only: the problem's runner imports it inside the sandbox to call the candidate's policy every
tick, and the trusted verifier imports it to replay the action log the sandbox returns. ``simulate`` and
``replay`` are the same loop (``_run``) fed by two sources of actions, so they cannot disagree.

One tick ``t`` (semantics in docs/spot.md, chosen to reproduce the published figures of the Can't Be Late grid):

1. A spot instance that ran in tick ``t - 1`` is preempted if its zone has no spot in tick ``t``.
2. The policy picks an action for the whole tick: idle, spot in zone z, or on-demand in zone z.
3. Spot in a zone without spot is infeasible. An action other than the instance that ran last tick starts a new
   instance, which owes the changeover delay ``overhead``; idling is free and owes nothing.
4. A running instance is billed for the whole tick. The changeover is paid in continuous time inside ticks: the
   tick makes ``length - owed`` seconds of progress once the delay still owed is paid.
5. The job is done the moment its progress reaches ``task``; it must be done by ``deadline``.

Action codes in the log: 0 = idle, ``1 + 2 * z`` = spot in zone z, ``2 + 2 * z`` = on-demand in zone z.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from problems.spot.scenario import EPSILON, Scenario, ScenarioError, availability, availability_text

__all__ = ["ActionError", "Infeasible", "Outcome", "Scenario", "ScenarioError", "State", "replay", "simulate"]

IDLE, SPOT, ON_DEMAND = "idle", "spot", "on_demand"
_KINDS = (IDLE, SPOT, ON_DEMAND)


class Infeasible(Exception):
    """An action that breaks the rules, with message 'tick K: reason' and the log up to and including it."""

    def __init__(self, message: str, log: list[int] | None = None):
        super().__init__(message)
        self.log = log if log is not None else []


class ActionError(ValueError):
    """A policy returned something that is not an action (raised inside the sandbox only)."""


class State:
    """What the policy sees each tick: one object, updated in place before every call. Times in seconds.

    Attributes:
        tick: index of the tick being decided (0-based); elapsed = tick * gap.
        elapsed, gap, deadline, task, overhead: seconds since the start, tick length, the deadline, the job's
            compute and the changeover delay.
        done, remaining: compute done so far and still needed; slack = deadline - elapsed - remaining.
        owed: changeover delay the running instance still has to pay (0 when idle).
        instance: what runs now, after a preemption: "idle", "spot" or "on_demand"; zone: its zone, or the
            zone the policy last chose; zones: how many zones.
        preempted: whether a spot instance was lost at the start of this tick.
        has_spot: spot is available now in ``zone``; spot: a tuple of one bool per zone.
        spot_price: a tuple of this tick's spot price per zone; on_demand_price: in every zone ($/h).
        history: the ``spot`` tuples of all earlier ticks, oldest first (the engine only appends).
        memory: a dict the policy may keep its own notes in; fresh for every scenario.
    """

    __slots__ = ("tick", "elapsed", "gap", "deadline", "task", "overhead", "done", "remaining", "slack", "owed",
                 "instance", "zone", "zones", "preempted", "has_spot", "spot", "spot_price", "on_demand_price",
                 "history", "memory")  # fmt: skip

    def __init__(self, sc: Scenario) -> None:
        self.tick, self.elapsed, self.done, self.owed, self.zone = 0, 0.0, 0.0, 0.0, 0
        self.gap, self.deadline, self.task, self.overhead = sc.gap, sc.deadline, sc.task, sc.overhead
        self.remaining, self.slack = sc.task, sc.deadline - sc.task
        self.instance, self.zones, self.preempted, self.has_spot = IDLE, sc.zones, False, False
        self.spot, self.spot_price, self.on_demand_price = sc.available[0], sc.spot_prices[0], sc.on_demand_price
        self.history: list[tuple[bool, ...]] = []
        self.memory: dict = {}

    def __repr__(self) -> str:
        return (f"State(tick={self.tick}, done={self.done}, remaining={self.remaining}, slack={self.slack}, "
                f"instance={self.instance!r}, zone={self.zone}, spot={self.spot})")  # fmt: skip


@dataclass
class Outcome:
    """What a run did; the verifier's metrics come from here.

    Attributes:
        log: one action code per tick the job ran (see the module docstring).
        cost: dollars billed.
        finished: whether the job's compute was done (always by the deadline when it was).
        finish_time: seconds from the start at which it was done, or None.
        done: compute done, seconds.
        spot_ticks, on_demand_ticks: billed ticks of each kind.
        changeovers: instances started; preemptions: spot instances lost.
    """

    log: list[int]
    cost: float
    finished: bool
    finish_time: float | None
    done: float
    spot_ticks: int
    on_demand_ticks: int
    changeovers: int
    preemptions: int


def describe(code: int, sc: Scenario) -> str:
    """Words for an action code, e.g. 'spot in zone 1 (us-west-2b_k80_1)'."""
    if code == 0:
        return IDLE
    zone = (code - 1) // 2
    return f"{_KINDS[2 - code % 2]} in zone {zone} ({sc.zone_names[zone]})"


def steps(sc: Scenario, state: State | None = None) -> Generator[int, int | None, Outcome]:
    """The loop of the module docstring: yields each tick ``t`` once ``state`` shows it, is sent the tick's action
    code (or None to stop: a replayed log's end), returns the outcome; Infeasible on spot where there is none."""
    gap, task, overhead, ticks = sc.gap, sc.task, sc.overhead, sc.ticks
    available, prices = sc.available, sc.spot_prices
    per_hour = gap / 3600.0
    od_tick = sc.on_demand_price * per_hour
    log: list[int] = []
    running, owed, done, cost = 0, 0.0, 0.0, 0.0
    spot_ticks = od_ticks = changeovers = preemptions = 0
    finish: float | None = None
    for t in range(ticks):
        spot = available[t]
        lost = running & 1 and not spot[running >> 1]
        if lost:
            running, owed = 0, 0.0
            preemptions += 1
        if state is not None:
            state.tick, state.elapsed, state.done, state.remaining = t, t * gap, done, task - done
            state.slack, state.owed, state.preempted = sc.deadline - t * gap - (task - done), owed, bool(lost)
            state.instance = _KINDS[2 - running % 2] if running else IDLE
            state.spot, state.spot_price, state.has_spot = spot, prices[t], spot[state.zone]
        code = yield t
        if code is None:
            break
        log.append(code)
        if state is not None:
            state.history.append(spot)
        if code == 0:
            running, owed = 0, 0.0
            continue
        zone = (code - 1) >> 1
        if code & 1:
            if not spot[zone]:
                raise Infeasible(f"tick {t}: {describe(code, sc)} is unavailable (the trace has no spot there)", log)
            cost += prices[t][zone] * per_hour
            spot_ticks += 1
        else:
            cost += od_tick
            od_ticks += 1
        if code != running:
            owed = overhead
            changeovers += 1
        running = code
        length = gap if t < ticks - 1 else sc.tick_length(t)
        if owed >= length:
            owed -= length
            continue
        progress = length - owed
        if done + progress >= task - EPSILON:
            finish, done = t * gap + owed + (task - done), task
            break
        done += progress
        owed = 0.0
    return Outcome(log, cost, finish is not None, finish, done, spot_ticks, od_ticks, changeovers, preemptions)


def _run(sc: Scenario, choose: Callable[[int], int | None], state: State | None) -> Outcome:
    """``steps`` with each tick's code from ``choose(t)``."""
    ticks = steps(sc, state)
    try:
        t = next(ticks)
        while True:
            t = ticks.send(choose(t))
    except StopIteration as done:
        return done.value


def simulate(sc: Scenario, decide: Callable[[State], Any]) -> Outcome:
    """Run ``decide`` (called once per tick with the ``State``) until the job is done or the deadline passes.

    Spot where there is none raises ``Infeasible`` carrying the log so far, offending action included; something
    that is not an action raises ``ActionError``.
    """
    state = State(sc)
    return _run(sc, chooser(state, decide), state)


def chooser(state: State, decide: Callable[[State], Any]) -> Callable[[int], int]:
    """``choose(t)``: the code of the action ``decide(state)`` returns (also moving ``state.zone``), or
    ActionError."""
    zones = state.zones

    def choose(t: int) -> int:
        action = decide(state)
        if isinstance(action, str):
            zone = state.zone
        elif isinstance(action, (tuple, list)) and len(action) == 2:
            action, zone = action
            zone = _zone_index(zone, zones, t)
            state.zone = zone
        else:
            raise ActionError(f"tick {t}: decide returned {_shown(action)}; expected {_EXPECTED}")
        if action == SPOT:
            return 1 + 2 * zone
        if action == ON_DEMAND:
            return 2 + 2 * zone
        if action == IDLE:
            return 0
        raise ActionError(f"tick {t}: unknown action {_shown(action)}; expected {_EXPECTED}")

    return choose


_EXPECTED = "'spot', 'on_demand' or 'idle', or (action, zone)"


def _zone_index(zone: Any, zones: int, t: int) -> int:
    try:
        if isinstance(zone, bool):
            raise TypeError
        index = operator.index(zone)
    except TypeError:
        raise ActionError(f"tick {t}: the zone must be an int, got {_shown(zone)}") from None
    if not 0 <= index < zones:
        raise ActionError(f"tick {t}: zone {index} does not exist (zones 0 to {zones - 1})")
    return index


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def replay(sc: Scenario, log: Any) -> Outcome:
    """Replay an untrusted action log: ``Infeasible`` at its first malformed or impossible entry.

    A log may stop early (the job then is not finished); it may not go on after the job is done.
    """
    if not isinstance(log, list):
        raise Infeasible(f"the action log must be a list of ints, got {type(log).__name__}")
    if len(log) > sc.ticks:
        raise Infeasible(f"the log has {len(log)} entries but only {sc.ticks} ticks start before the deadline")
    top = 2 * sc.zones
    for t, code in enumerate(log):
        if type(code) is not int:
            raise Infeasible(f"tick {t}: entry {_shown(code)} is not an int action code")
        if not 0 <= code <= top:
            raise Infeasible(f"tick {t}: action code {code} is out of range (0 to {top} for {sc.zones} zones)")
    outcome = _run(sc, lambda t: log[t] if t < len(log) else None, None)
    if outcome.finished and len(log) > len(outcome.log):
        raise Infeasible(f"the log has {len(log)} entries but the job was done in tick {len(outcome.log) - 1}")
    return outcome


def on_demand_outcome(sc: Scenario) -> Outcome:
    """The on-demand-only schedule in zone 0: the cost that savings are measured against."""
    return _run(sc, lambda t: 2, None)


# -- across the sandbox's boundary: the simulation keeps the traces; the policy's side sees a tick at a time --


def public(sc: Scenario) -> dict[str, Any]:
    """What a policy knows before the first tick: the job, the deadline, the changeover, the prices of
    on-demand, how many zones (not their names: a name and the public traces would tell the future)."""
    keys = ("gap", "task", "deadline", "overhead", "on_demand_price", "ticks")
    return {**{k: getattr(sc, k) for k in keys}, "zones": sc.zones}


def observed(sc: Scenario, t: int) -> str | list:
    """What a policy learns at the start of tick ``t``: spot availability per zone as ``"0"``/``"1"``, with the
    zones' spot prices when they differ from the previous tick's."""
    if t and sc.spot_prices[t] == sc.spot_prices[t - 1]:
        return availability_text(sc.available[t])
    return [availability_text(sc.available[t]), list(sc.spot_prices[t])]


def mirror(known: dict[str, Any]) -> Scenario:
    """A scenario with no tick yet, for the policy's side: ``learn`` appends each tick as it is observed."""
    names = tuple(f"zone{k}" for k in range(known["zones"]))
    fields = {k: v for k, v in known.items() if k != "zones"}
    return Scenario(zone_names=names, available=[], spot_prices=[], **fields)  # type: ignore[arg-type]


def learn(sc: Scenario, observation: str | list) -> None:
    """Append one observed tick to a ``mirror`` scenario."""
    if observation.__class__ is str:
        sc.available.append(availability(observation))  # type: ignore[attr-defined]
        sc.spot_prices.append(sc.spot_prices[-1])  # type: ignore[attr-defined]
    else:
        sc.available.append(availability(observation[0]))  # type: ignore[attr-defined]
        sc.spot_prices.append(tuple(observation[1]))  # type: ignore[attr-defined]
