"""The serving engine against hand-computed runs, its replay against forged logs, and its metrics by hand."""

from __future__ import annotations

import json
import math
import random

import pytest

from problems.serving.cost import CostModel
from problems.serving.sim import Infeasible, Outcome, Workload, metrics, replay, simulate

A, B, E = 0.01, 0.001, 0.0001
COST = CostModel("test", "toy", "toy", 1, overhead=0.0, a=A, b=B, e=E, f=0.0, g=0.0, kv_capacity_tokens=4096)


def step(tokens: int, kv: int = 0) -> float:
    """An iteration of COST that runs ``tokens`` tokens and reads ``kv`` cached ones."""
    return math.hypot(A, B * tokens) + E * kv


def workload(requests, capacity=4096, block_size=4, horizon=1000.0, duration=10.0, **kw) -> Workload:
    """Requests as (arrival, prompt, output)."""
    return Workload(
        arrivals=tuple(float(t) for t, _, _ in requests),
        prompt=tuple(p for _, p, _ in requests),
        output=tuple(o for _, _, o in requests),
        slo_ttft=kw.get("slo_ttft", 1.0),
        slo_tpot=kw.get("slo_tpot", 0.1),
        kv_capacity_tokens=capacity,
        max_new_tokens=kw.get("max_new_tokens", 64),
        cost=COST,
        horizon=horizon,
        duration=duration,
        block_size=block_size,
    )


def blocks(tokens: int, bs: int) -> int:
    return -(-tokens // bs)


def admit_all(state):
    """Every waiting request admitted whole; running ones just decode."""
    return {"prefill": {r.id: r.remaining_prefill for r in state.waiting}}


def random_policy(seed: int, lost: list[int] | None = None):
    """Random chunks, admissions and preemptions, always feasible: it preempts until the iteration's blocks fit.

    `lost` collects the cached tokens of every preempted request (what will be recomputed).
    """
    rng = random.Random(seed)

    def growth(r, chunk, bs):  # blocks r adds this iteration given `chunk` prefill tokens (0: none)
        if r.remaining_prefill and chunk == 0:
            return 0
        after = r.prefilled + chunk + (1 if chunk == r.remaining_prefill else 0)
        return blocks(after, bs) - r.blocks

    def policy(state):
        bs = state.block_size
        assert state.free_blocks >= 0
        assert state.total_blocks - state.free_blocks == sum(r.blocks for r in state.running)
        assert [r.id for r in state.waiting] == sorted(r.id for r in state.waiting)
        running = list(state.running)
        chunks = {
            r.id: rng.randint(1, r.remaining_prefill) for r in running if r.remaining_prefill and rng.random() < 0.7
        }
        free = state.free_blocks - sum(growth(r, chunks.get(r.id, 0), bs) for r in running)
        preempt = []
        while free < 0 or (running and rng.random() < 0.02):
            victim = running.pop(rng.randrange(len(running)))
            free += growth(victim, chunks.pop(victim.id, 0), bs) + victim.blocks
            preempt.append(victim.id)
            if lost is not None:
                lost.append(victim.prefilled)
        for r in state.waiting:
            chunk = rng.randint(1, r.context_tokens)
            need = growth(r, chunk, bs)
            if r.id in preempt or need > free or rng.random() < 0.3:
                continue
            chunks[r.id] = chunk
            free -= need
        return {"prefill": list(chunks.items()), "preempt": preempt}

    return policy


def random_workload(seed: int, n: int = 40, capacity: int = 400) -> Workload:
    rng = random.Random(seed)
    reqs = sorted((rng.uniform(0, 2), rng.randint(1, 120), rng.randint(1, 60)) for _ in range(n))
    return workload(reqs, capacity=capacity, block_size=8, horizon=10_000.0)


# -- hand-computed runs -----------------------------------------------------------------------------------


def test_a_lone_request_takes_one_prefill_then_one_decode_iteration_per_further_token():
    w = workload([(1.0, 10, 4)])
    out = simulate(w, admit_all)
    ttft = step(10)  # nothing cached yet: kv read 0
    assert out.first_token[0] == pytest.approx(1.0 + ttft)
    decodes = sum(step(1, context) for context in (11, 12, 13))  # it attends to its whole context
    assert out.finish[0] == pytest.approx(1.0 + ttft + decodes)
    assert (out.iterations, out.decode_batch_sum, out.generated, out.preemptions) == (4, 3, [4], [0])
    assert out.max_gap == pytest.approx([step(1, 13)])  # the last decode step, the longest
    assert out.log == [[[[0, 10]], []], [[], []], [[], []], [[], []]]
    assert metrics(w, out)["p99_tpot"] == pytest.approx(decodes / 3)  # 3 tokens after the first


def test_the_clock_jumps_over_idle_time_without_calling_the_scheduler():
    calls = []
    out = simulate(workload([(0.0, 4, 1), (5.0, 4, 1)]), lambda s: calls.append(s.clock) or admit_all(s))
    assert calls == [0.0, 5.0]
    assert out.finish == pytest.approx([step(4), 5.0 + step(4)])


def test_two_chunks_give_the_first_token_after_the_second_chunk():
    seen = []

    def two_chunks(state):
        if state.waiting:
            return {"prefill": {0: 6}}
        r = state.running[0]
        seen.append((r.prefilled, r.remaining_prefill, r.blocks, r.generated))
        return {"prefill": {0: r.remaining_prefill}} if r.remaining_prefill else None

    out = simulate(workload([(0.0, 10, 2)]), two_chunks)
    assert seen[0] == (6, 4, 2, 0)  # holding its first chunk, waiting for the second
    first = step(6) + step(4, 6)  # the second chunk attends to the 6 cached tokens
    assert out.first_token[0] == pytest.approx(first)
    assert out.finish[0] == pytest.approx(first + step(1, 11))


def test_a_preempted_request_recomputes_its_context_and_keeps_its_first_token_time():
    chunks = []

    def preempt_after_three(state):
        for r in state.waiting:
            chunks.append(r.remaining_prefill)
            return {"prefill": {r.id: r.remaining_prefill}}
        r = state.running[0]
        return {"preempt": [r.id]} if r.generated == 3 and r.preemptions == 0 else None

    w = workload([(0.0, 8, 6)])
    out = simulate(w, preempt_after_three)
    assert chunks == [8, 8 + 3]  # the readmission prefills prompt and the 3 generated tokens
    assert out.preemptions == [1]
    assert out.first_token[0] == pytest.approx(step(8))
    # 3 tokens (prefill + 2 decodes), the preempting iteration (nothing runs), recompute (+1 token), 2 decodes.
    expected = step(8) + step(1, 9) + step(1, 10) + step(0) + step(11) + step(1, 12)
    expected += step(1, 13)
    assert out.finish[0] == pytest.approx(expected)
    # The largest gap between two of its tokens is the stall: the preempting iteration plus the recompute.
    assert out.max_gap == pytest.approx([step(0) + step(11)])
    assert step(0) + step(11) > step(1, 13)  # longer than any decode step, so the stall is what is measured


def test_under_random_feasible_decisions_memory_holds_and_prefill_exceeds_prompts_by_the_recomputed_tokens():
    for seed in range(8):
        w, lost = random_workload(seed), []
        out = simulate(w, random_policy(seed, lost))
        assert all(f is not None for f in out.finish)
        assert sum(out.preemptions) == len(lost) > 0
        prefilled = sum(tokens for chunks, _ in out.log for _, tokens in chunks)
        assert prefilled == sum(w.prompt) + sum(lost)
        assert out.generated == list(w.output)


def test_waiting_is_by_arrival_and_running_by_admission_and_a_preempted_request_returns_to_its_place():
    orders = []

    def policy(state):
        orders.append(([r.id for r in state.waiting], [r.id for r in state.running]))
        if state.iteration == 0:
            return {"prefill": [[2, 3], [0, 3]]}
        if state.iteration == 1:
            return {"preempt": [0]}
        return admit_all(state)

    simulate(workload([(0.0, 3, 9), (0.0, 3, 9), (0.0, 3, 9)]), policy)
    assert orders[:4] == [([0, 1, 2], []), ([1], [2, 0]), ([0, 1], [2]), ([], [2, 0, 1])]


def test_a_policy_sorting_the_waiting_queue_in_place_fails_loudly_without_touching_the_engine():
    with pytest.raises(AttributeError):
        simulate(workload([(0.0, 3, 2)]), lambda s: s.waiting.sort())


def test_numpy_integers_in_a_decision_are_logged_as_plain_ints():
    np = pytest.importorskip("numpy")
    out = simulate(workload([(0.0, 5, 1)]), lambda s: {"prefill": {np.int64(0): np.int32(5)}})
    assert out.log == [[[[0, 5]], []]] and type(out.log[0][0][0][1]) is int


def test_the_horizon_cuts_the_run_and_unstarted_requests_count_ttft_to_the_horizon():
    w = workload([(0.0, 4, 60), (0.5, 4, 2)], horizon=0.6, duration=1.0)
    out = simulate(w, lambda s: {"prefill": {0: 4}} if s.waiting and s.waiting[0].id == 0 else None)
    assert 0.6 < out.clock < 0.6 + step(1, 64)
    assert out.finish == [None, None] and out.first_token[1] is None
    m = metrics(w, out)
    assert (m["unfinished"], m["goodput"], m["requests"]) == (2.0, 0.0, 2.0)
    ttfts = sorted([out.first_token[0], 0.6 - 0.5])
    assert m["p99_ttft"] == pytest.approx(ttfts[0] + 0.99 * (ttfts[1] - ttfts[0]))
    assert m["p99_tpot"] == 0.0  # no request finished: no TPOT to take a percentile of


# -- what the scheduler can see ---------------------------------------------------------------------------


def reachable(root, depth=4):
    """Every value reachable from `root` through slots, instance dicts, dataclass fields and containers."""
    seen, stack, found = set(), [(root, 0)], []
    while stack:
        obj, d = stack.pop()
        if id(obj) in seen or d > depth:
            continue
        seen.add(id(obj))
        found.append(obj)
        children = []
        if isinstance(obj, (list, tuple, set, frozenset)):
            children = list(obj)
        elif isinstance(obj, dict):
            children = [*obj.keys(), *obj.values()]
        elif not isinstance(obj, (int, float, str, type(None))):
            slots = [s for cls in type(obj).__mro__ for s in getattr(cls, "__slots__", ())]
            children = [getattr(obj, s) for s in slots if hasattr(obj, s)] + list(getattr(obj, "__dict__", {}).values())
        stack.extend((c, d + 1) for c in children)
    return found


def test_neither_the_state_nor_a_request_reaches_the_true_output_lengths():
    w = workload([(0.0, 100, 37), (0.0, 120, 41)])  # no visible count reaches 37 before the first finish
    checked = []

    def policy(state):
        if not state.finished_output_lengths:
            values = reachable(state)
            assert not any(v is w.output for v in values)
            assert not any(type(v) is int and v in (37, 41) for v in values)
            assert "output" not in " ".join(s for r in state.running for s in type(r).__slots__)
            checked.append(state.iteration)
        return admit_all(state)

    simulate(w, policy)
    assert len(checked) > 30


# -- replay ------------------------------------------------------------------------------------------------


def test_replaying_a_simulation_log_gives_an_identical_outcome_also_through_json():
    for seed in range(4):
        w = random_workload(seed)
        out = simulate(w, random_policy(seed))
        assert replay(w, out.log) == out
        assert replay(Workload.from_data(json.loads(json.dumps(w.to_data()))), json.loads(json.dumps(out.log))) == out


def forged(log, k, entry):
    return [*log[:k], entry, *log[k + 1 :]]


@pytest.fixture
def small():
    """Two requests arriving together, prompts 6 and 5, outputs 3 and 2, admitted at once."""
    w = workload([(0.0, 6, 3), (0.0, 5, 2)], capacity=16, block_size=4)
    out = simulate(w, admit_all)
    assert out.log == [[[[0, 6], [1, 5]], []], [[], []], [[], []]]
    return w, out.log


@pytest.mark.parametrize(
    "entry, k, reason",
    [
        ([[[7, 6], [1, 5]], []], 0, "iteration 0: unknown request id 7"),
        ([[[0, 6]], [1]], 0, "iteration 0: cannot preempt: request 1 is waiting, not running"),
        ([[[0, 0], [1, 5]], []], 0, "iteration 0: chunk of 0 tokens for request 0"),
        ([[[0, 7], [1, 5]], []], 0, "iteration 0: chunk of 7 tokens for request 0 exceeds its remaining prefill 6"),
        ([[[0, True], [1, 5]], []], 0, "iteration 0: chunk size True in the log is a bool, not an int"),
        ([[[0, 6.0], [1, 5]], []], 0, "iteration 0: chunk size 6.0 in the log is a float, not an int"),
        ([[[False, 6], [1, 5]], []], 0, "iteration 0: request id False in the log is a bool, not an int"),
        ([[], [True]], 1, "iteration 1: preempted id True in the log is a bool, not an int"),
        ([[[0, 6], [0, 5]], []], 0, "iteration 0: request 0 appears more than once in the decision"),
        ([[[0, 1]], []], 1, "iteration 1: request 0 is decoding: it has no prefill left"),
        ([[], [5]], 1, "iteration 1: unknown request id 5"),
        ([[], [-1]], 1, "iteration 1: unknown request id -1"),
        ([[[0, 6], [1, 5]]], 0, "iteration 0: log entry"),
        ([[[0, 6], [1, 5]], [], []], 0, "iteration 0: log entry"),
        ({"prefill": [[0, 6]]}, 0, "iteration 0: log entry"),
        ("garbage", 0, "iteration 0: log entry"),
        (None, 0, "iteration 0: log entry"),
        ([[[0, 6, 1]], []], 0, "iteration 0: log chunk [0, 6, 1] is not an [id, tokens] pair"),
        ([[0, 6], []], 0, "iteration 0: log chunk 0 is not an [id, tokens] pair"),
        ([[["0", 6]], []], 0, "iteration 0: request id '0' in the log is a str, not an int"),
    ],
)
def test_replay_rejects_a_forged_entry_with_its_reason(small, entry, k, reason):
    w, log = small
    with pytest.raises(Infeasible) as error:
        replay(w, forged(log, k, entry))
    assert str(error.value).startswith(reason)


def test_replay_rejects_admitting_beyond_memory():
    w = workload([(0.0, 6, 3), (0.0, 5, 2)], capacity=12, block_size=4)  # 3 blocks: 7 and 6 tokens need 4
    with pytest.raises(Infeasible, match=r"^iteration 0: the KV cache overflows: the iteration needs 4 blocks of 3"):
        replay(w, [[[[0, 6], [1, 5]], []]])


def test_replay_rejects_a_finished_or_unarrived_request():
    w = workload([(0.0, 2, 1), (9.0, 2, 1)])
    with pytest.raises(Infeasible, match=r"^iteration 1: cannot prefill: request 1 has not arrived yet"):
        replay(w, [[[[0, 1]], []], [[[1, 2]], []]])
    with pytest.raises(Infeasible, match=r"^iteration 1: cannot preempt: request 0 has already finished"):
        replay(w, [[[[0, 2]], []], [[], [0]]])


def test_replay_rejects_a_log_too_short_or_too_long(small):
    w, log = small
    with pytest.raises(Infeasible, match=r"^iteration 2: the log has 2 entries but the engine calls the scheduler"):
        replay(w, log[:2])
    with pytest.raises(Infeasible, match=r"^iteration 3: the log has 4 entries but the engine called the scheduler 3"):
        replay(w, [*log, [[], []]])
    with pytest.raises(Infeasible, match=r"^iteration 0: the log is a dict, not a list"):
        replay(w, {"log": log})


def test_simulate_rejects_a_malformed_decision_and_lets_the_policy_exceptions_through():
    w = workload([(0.0, 4, 2)])
    cases = [
        ([0], "the scheduler returned a list, not a dict or None"),
        ({"prefil": {0: 4}}, "unknown key 'prefil'"),
        ({"prefill": 4}, "'prefill' is a int, not a dict"),
        ({"prefill": [0, 4]}, "prefill entry 0 is not an [id, tokens] pair"),
        ({"prefill": {0: 2.5}}, "chunk size 2.5 is a float, not an int"),
        ({"prefill": {0: True}}, "chunk size True is a bool, not an int"),
        ({"preempt": 0}, "'preempt' is a int, not a list of ids"),
    ]
    for decision, reason in cases:
        with pytest.raises(Infeasible) as error:
            simulate(w, lambda s, d=decision: d)
        assert str(error.value) == f"iteration 0: {reason}" or str(error.value).startswith(f"iteration 0: {reason}")
    with pytest.raises(ZeroDivisionError):
        simulate(w, lambda s: 1 / 0)
    with pytest.raises(Infeasible, match="exceeds 5 iterations"):
        simulate(w, lambda s: None, max_iterations=5)


# -- metrics, workloads, cost models -----------------------------------------------------------------------


def test_metrics_of_a_hand_made_outcome():
    w = workload([(0.0, 4, 1), (1.0, 4, 3), (2.0, 4, 5), (3.0, 4, 2)], horizon=20.0, duration=4.0, slo_ttft=1.0)
    outcome = Outcome(
        first_token=[0.5, 1.9, 4.0, 3.2],  # TTFTs 0.5, 0.9, 2.0 (too late), 0.2
        finish=[0.5, 2.05, 4.2, None],  # TPOTs 0 (one token), 0.075, 0.05; request 3 unfinished
        preemptions=[0, 2, 0, 1],
        generated=[1, 3, 5, 1],
        max_gap=[0.0, 0.6, 0.1, 0.0],  # request 1 stalled longer than the 0.5 s gap SLO
        iterations=10,
        decode_batch_sum=15,
        clock=20.1,
        log=[],
    )
    m = metrics(w, outcome)
    assert m["goodput"] == pytest.approx(2 / 4.0)
    assert m["goodput_max_gap"] == pytest.approx(1 / 4.0)  # only request 0: on time, no gap over 0.5 s
    assert m["attainment"] == pytest.approx(2 / 4)
    assert m["throughput"] == pytest.approx(3 / 4.0)
    assert m["tokens_per_s"] == pytest.approx(10 / 4.0)
    assert m["p99_ttft"] == pytest.approx(0.9 + 0.97 * (2.0 - 0.9))  # position 0.99 * 3 between 0.9 and 2.0
    assert (m["preemptions"], m["mean_batch"], m["unfinished"], m["requests"]) == (3.0, 1.5, 1.0, 4.0)
    outcome.finish[1] = 2.1 + 1e-9  # TPOT just above 0.1
    assert metrics(w, outcome)["goodput"] == pytest.approx(1 / 4.0)


def test_workload_data_round_trips_and_bad_data_is_named():
    w = random_workload(0)
    assert Workload.from_data(json.loads(json.dumps(w.to_data()))) == w
    data = w.to_data()
    bad = [
        ({**data, "prompt": data["prompt"][:-1]}, "lengths differ"),
        ({**data, "prompt": [True] + data["prompt"][1:]}, "prompt[0] must be an int"),
        ({**data, "arrivals": [5.0] + data["arrivals"][1:]}, "non-decreasing"),
        ({**data, "output": [65] + data["output"][1:]}, "exceeds max_new_tokens"),
        ({**data, "kv_capacity_tokens": 64}, "needs"),
        ({**data, "horizon": 0.5}, "before the last arrival"),
        ({k: v for k, v in data.items() if k != "cost"}, "missing ['cost']"),
        ({**data, "cost": {**data["cost"], "a": "1"}}, "coefficient a"),
    ]
    for value, message in bad:
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            Workload.from_data(value)
