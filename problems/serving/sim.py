"""The iteration-level engine of a continuous-batching LLM server, shared by the sandbox and the verifier.

Standard library only: inside the sandbox the problem's runner simulates each instance with it in the sandbox
server, asking the candidate's process for every decision, and the candidate's process keeps a mirror of it that
knows only what a scheduler observes (`Engine.mirror`); the trusted verifier replays the decision log the
sandbox returns. `simulate`, `replay` and the sandbox's simulation are the same loop (`Engine.steps`) fed by
different sources of decisions, so they cannot disagree.
Semantics, step by step, in docs/serving.md; numbers in the comments below refer to its steps.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Generator
from math import hypot
from typing import Any

from problems.serving.cost import CostModel
from problems.serving.decisions import Decision, Reject, from_decision, from_log_entry
from problems.serving.metrics import Outcome, metrics
from problems.serving.state import ARRIVING, FINISHED, RUNNING, WAITING, Request, State
from problems.serving.workload import Workload

__all__ = ["Engine", "Infeasible", "Outcome", "Request", "State", "Workload", "metrics", "replay", "simulate"]


class Infeasible(Exception):
    """A decision breaking the engine's rules; message: 'iteration K: reason'."""


class Engine:
    """One run of the engine over a workload: the loop of docs/serving.md, fed one decision at a time.

    The same class plays two parts. In the sandbox server and the verifier it holds the whole workload and is
    the simulation. In the candidate's process (``mirror``) it holds only what the scheduler has observed: it
    applies each decision by the same rules, so its state matches the simulation's, and learns arrivals, the
    clock and which requests finished from the simulation's ``observation`` (a request finishes there, never
    here, since only the simulation knows output lengths).
    """

    def __init__(self, w: Workload) -> None:
        bs = w.block_size
        self.w = w
        self.output = w.output  # the true lengths: never reachable from the state or a request
        self.reqs = [Request(i, t, p, bs) for i, (t, p) in enumerate(zip(w.arrivals, w.prompt))]
        self.state = State(w)
        self.total_blocks = w.kv_capacity_tokens // bs
        self.used_blocks = 0
        self.waiting: list[Request] = []  # by id, which is arrival order
        self.running: list[Request] = []  # admission order
        self.decoding: list[Request] = []  # the running requests whose prefill is complete
        self.decode_kv = 0  # sum of `_prefilled` over `decoding`, the attention read of a decode step
        self.clock, self.iteration, self.batch_sum = 0.0, 0, 0
        self.waiting_changed = self.running_changed = True
        self.arrived = self.observed = 0  # requests arrived, and those told to the mirror
        self.finished_ids: list[int] = []  # finished since the last observation

    def steps(
        self, max_iterations: int, publish: bool = True, record: bool = True
    ) -> Generator[None, Decision, Outcome]:
        """Iterate until every request has finished or the clock passes the horizon (steps 1, 2, 10): yields
        before each decision, with the state published for a policy here (``publish``); is sent the decision;
        returns the outcome, with the log of decisions when ``record`` (a caller that has them already skips it)."""
        arrivals, reqs, n, horizon = self.w.arrivals, self.reqs, len(self.reqs), self.w.horizon
        waiting = self.waiting
        log: list = []
        arrived = 0
        while self.clock <= horizon:
            clock = self.clock
            if arrived < n and arrivals[arrived] <= clock:
                while arrived < n and arrivals[arrived] <= clock:
                    reqs[arrived]._status = WAITING
                    waiting.append(reqs[arrived])  # ids grow with arrival: the queue stays sorted
                    arrived += 1
                self.arrived = arrived
                self.waiting_changed = True
            if not waiting and not self.running:
                if arrived == n:
                    break
                self.clock = arrivals[arrived]
                continue
            k = self.iteration
            if k >= max_iterations:
                raise Infeasible(f"iteration {k}: the run exceeds {max_iterations} iterations")
            if publish:
                self._publish()
            chunks, preempts = yield
            try:
                self._step(chunks, preempts)
            except Reject as bad:
                raise Infeasible(f"iteration {k}: {bad}") from None
            if record:
                log.append([[[rid, tokens] for rid, tokens in chunks], list(preempts)])
            self.iteration = k + 1
        return Outcome(
            first_token=[r._first for r in reqs],
            finish=[r._finish for r in reqs],
            preemptions=[r._preemptions for r in reqs],
            generated=[r._generated for r in reqs],
            max_gap=[r._gap for r in reqs],
            iterations=self.iteration,
            decode_batch_sum=self.batch_sum,
            clock=self.clock,
            log=log,
        )

    def run(self, decide: Callable[[], Decision], max_iterations: int) -> Outcome:
        """``steps`` with each decision from ``decide``; a Reject there is the iteration's Infeasible."""
        steps = self.steps(max_iterations)
        try:
            next(steps)
            while True:
                try:
                    decision = decide()
                except Reject as bad:
                    raise Infeasible(f"iteration {self.iteration}: {bad}") from None
                steps.send(decision)
        except StopIteration as done:
            return done.value

    def _publish(self) -> None:
        state = self.state
        state.clock, state.iteration = self.clock, self.iteration
        state.free_blocks = self.total_blocks - self.used_blocks
        if self.waiting_changed:
            state.waiting, self.waiting_changed = tuple(self.waiting), False
        if self.running_changed:
            state.running, self.running_changed = tuple(self.running), False

    # -- across the sandbox's boundary ------------------------------------------------------------------

    def public(self) -> dict[str, Any]:
        """What a scheduler knows before the first request: the replica, the SLOs, the cost model."""
        w = self.w
        keys = ("block_size", "kv_capacity_tokens", "slo_ttft", "slo_tpot", "slo_max_gap", "max_new_tokens")
        return {**{k: getattr(w, k) for k in keys}, "cost": w.cost.to_data()}

    def observation(self) -> float | tuple[float, list[tuple[float, int]], list[int]]:
        """What the scheduler learns before this decision: the clock, the requests that arrived (arrival and
        prompt length, in id order) and the ids of those that finished since the last decision; the clock
        alone when nothing arrived or finished (most iterations)."""
        if self.observed == self.arrived and not self.finished_ids:
            return self.clock
        new = self.reqs[self.observed : self.arrived]
        self.observed = self.arrived
        finished, self.finished_ids = self.finished_ids, []
        return self.clock, [(r._arrival, r._prompt) for r in new], finished

    @classmethod
    def mirror(cls, public: dict[str, Any]) -> Engine:
        """An engine with no request yet and no output length ever: the candidate's side (see the class)."""
        cost = CostModel.from_data(public["cost"])
        known = {k: v for k, v in public.items() if k != "cost"}
        engine = cls(Workload((), (), (), horizon=0.0, duration=1.0, cost=cost, **known))
        engine.output = []  # a 0 per request: no count of generated tokens ever equals it
        return engine

    def learn(self, observation: float | tuple[float, list, list[int]]) -> None:
        """The mirror's side of ``observation``, then the state published for the scheduler."""
        if observation.__class__ is float:
            self.clock = observation
            self._publish()
            return
        clock, arrivals, finished = observation
        if finished:
            self._finish([self.reqs[rid] for rid in finished], self.clock)
        for arrival, prompt in arrivals:
            request = Request(len(self.reqs), arrival, prompt, self.w.block_size)
            request._status = WAITING
            self.reqs.append(request)
            self.output.append(0)
            self.waiting.append(request)
            self.waiting_changed = True
        self.clock = clock
        self._publish()

    def apply(self, chunks: list[tuple[int, int]], preempts: list[int]) -> None:
        """The mirror's step: the decision by the engine's rules (Reject as the simulation would)."""
        self._step(chunks, preempts)
        self.iteration += 1

    def _request(self, rid: int) -> Request:
        if not 0 <= rid < len(self.reqs):
            raise Reject(f"unknown request id {rid}")
        return self.reqs[rid]

    def _not_running(self, r: Request) -> str:
        if r._status == ARRIVING:
            return f"request {r._id} has not arrived yet (arrival {r._arrival}, clock {self.clock})"
        if r._status == FINISHED:
            return f"request {r._id} has already finished"
        return f"request {r._id} is waiting, not running"

    def _step(self, chunks: list[tuple[int, int]], preempts: list[int]) -> None:
        """One iteration (steps 4-9): apply the decision, advance the clock, produce tokens."""
        bs = self.w.block_size
        if len(chunks) + len(preempts) > 1:
            ids = [rid for rid, _ in chunks] + preempts
            if len(set(ids)) < len(ids):
                twice = next(rid for i, rid in enumerate(ids) if rid in ids[:i])
                raise Reject(f"request {twice} appears more than once in the decision")
        for rid in preempts:  # step 4
            r = self._request(rid)
            if r._status != RUNNING:
                raise Reject(f"cannot preempt: {self._not_running(r)}")
            self._preempt(r)
        prefill_tokens = kv_read = pairs = 0
        completing = []
        for rid, tokens in chunks:  # step 5
            r = self._request(rid)
            status = r._status
            remaining = r._prompt + r._generated - r._prefilled
            if status == RUNNING and remaining == 0:
                raise Reject(f"request {rid} is decoding: it has no prefill left")
            if status != RUNNING and status != WAITING:
                raise Reject(f"cannot prefill: {self._not_running(r)}")
            if tokens < 1:
                raise Reject(f"chunk of {tokens} tokens for request {rid}: a chunk has at least 1 token")
            if tokens > remaining:
                raise Reject(f"chunk of {tokens} tokens for request {rid} exceeds its remaining prefill {remaining}")
            if status == WAITING:
                self._admit(r)
            before = r._prefilled
            kv_read += before
            pairs += tokens * before + tokens * (tokens + 1) // 2  # causal: each token sees those before it
            prefill_tokens += tokens
            r._prefilled = before + tokens
            self.used_blocks += -(-(before + tokens) // bs) - -(-before // bs)
            if tokens == remaining:
                completing.append(r)
        decoding = self.decoding  # step 6
        batch = len(decoding)
        self.batch_sum += batch
        # step 8: CostModel.iteration_seconds, inlined on this hot path
        cost, tokens = self.w.cost, prefill_tokens + batch
        clock = self.clock = (
            self.clock
            + cost.overhead
            + hypot(cost.a, cost.b * tokens)
            + cost.e * (kv_read + self.decode_kv)
            + cost.f * pairs
            + cost.g * tokens
        )
        output, used, finished = self.output, self.used_blocks, []
        for r in decoding:  # step 9
            held = r._prefilled
            if not held % bs:
                used += 1
            r._prefilled = held + 1
            r._generated += 1
            if clock - r._last > r._gap:
                r._gap = clock - r._last
            r._last = clock
            if r._generated == output[r._id]:
                finished.append(r)
        self.decode_kv += batch
        for r in completing:
            held = r._prefilled
            if not held % bs:
                used += 1
            r._prefilled = held + 1
            r._generated += 1
            if r._first is None:
                r._first = clock
            elif clock - r._last > r._gap:  # back from a preemption: the stall counts in full
                r._gap = clock - r._last
            r._last = clock
            if r._generated == output[r._id]:
                finished.append(r)
            decoding.append(r)
            self.decode_kv += held + 1
        if used > self.total_blocks:  # step 7, counting requests that finish now: the scheduler cannot know
            raise Reject(f"the KV cache overflows: the iteration needs {used} blocks of {self.total_blocks}")
        self.used_blocks = used
        if finished:
            self._finish(finished, clock)

    def _admit(self, r: Request) -> None:
        waiting = self.waiting
        i = 0 if waiting[0] is r else bisect.bisect_left(waiting, r._id, key=_ID)
        del waiting[i]
        r._status = RUNNING
        self.running.append(r)
        self.waiting_changed = self.running_changed = True

    def _preempt(self, r: Request) -> None:
        """Step 4: free its blocks, forget its cache, requeue it at its arrival position."""
        self.used_blocks -= -(-r._prefilled // self.w.block_size)
        if r._prefilled == r._prompt + r._generated:
            self.decoding.remove(r)
            self.decode_kv -= r._prefilled
        r._prefilled = 0
        r._preemptions += 1
        r._status = WAITING
        self.running.remove(r)
        bisect.insort(self.waiting, r, key=_ID)
        self.waiting_changed = self.running_changed = True

    def _finish(self, finished: list[Request], clock: float) -> None:
        bs, lengths = self.w.block_size, self.state.finished_output_lengths
        self.finished_ids += [r._id for r in finished]
        for r in finished:
            self.used_blocks -= -(-r._prefilled // bs)
            self.decode_kv -= r._prefilled
            r._status = FINISHED
            r._finish = clock
            lengths.append(r._generated)
        self.decoding = [r for r in self.decoding if r._status == RUNNING]
        self.running = [r for r in self.running if r._status == RUNNING]
        self.running_changed = True


_ID = operator.attrgetter("_id")


def simulate(workload: Workload, policy: Callable[[Any], Any], max_iterations: int = 5_000_000) -> Outcome:
    """Run `policy(state)` every iteration; Infeasible on a bad decision, the policy's own exceptions propagate."""
    engine = Engine(workload)
    state = engine.state
    return engine.run(lambda: from_decision(policy(state)), max_iterations)


def replay(workload: Workload, log: Any, max_iterations: int = 5_000_000) -> Outcome:
    """Trusted replay of an untrusted decision log: the same engine, decisions read from the log."""
    if not isinstance(log, list):
        raise Infeasible(f"iteration 0: the log is a {type(log).__name__}, not a list")
    steps = Engine(workload).steps(max_iterations, publish=False, record=False)  # no policy reads; the log is given
    try:
        next(steps)
        for k, entry in enumerate(log):
            try:
                decision = from_log_entry(entry)
            except Reject as bad:
                raise Infeasible(f"iteration {k}: {bad}") from None
            steps.send(decision)
        raise Infeasible(
            f"iteration {len(log)}: the log has {len(log)} entries but the engine calls the scheduler more times"
        )
    except StopIteration as done:
        outcome = done.value
    if outcome.iterations != len(log):
        raise Infeasible(f"iteration {outcome.iterations}: the log has {len(log)} entries but the engine "
                         f"called the scheduler {outcome.iterations} times")  # fmt: skip
    outcome.log = log
    return outcome
