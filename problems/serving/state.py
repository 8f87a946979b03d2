"""What a serving scheduler observes: the engine state and its requests, without what a real one cannot know.

Standard library only: the sandbox's candidate process builds these objects (``serving_sim.Engine.mirror``) from
what the simulator in the sandbox server tells it, and the engine updates them in place. A request's true output
length is not here at all: the simulator keeps it, outside the candidate's process.
"""

from __future__ import annotations

import operator

from problems.serving.workload import Workload

ARRIVING, WAITING, RUNNING, FINISHED = 0, 1, 2, 3


class Request:
    """What the scheduler sees of one request: read-only properties over the engine's own fields.

    The true output length is deliberately absent: the engine keeps it in a separate tuple.
    """

    __slots__ = ("_id", "_arrival", "_prompt", "_generated", "_prefilled", "_preemptions", "_first", "_finish",
                 "_status", "_bs", "_last", "_gap")  # fmt: skip

    def __init__(self, rid: int, arrival: float, prompt: int, block_size: int) -> None:
        self._id, self._arrival, self._prompt, self._bs = rid, arrival, prompt, block_size
        self._generated = self._prefilled = self._preemptions = 0
        self._first: float | None = None
        self._finish: float | None = None
        self._status = ARRIVING
        self._last = self._gap = 0.0  # clock of its latest token; largest gap between two of its tokens

    # attrgetter properties: a policy reading them costs no Python frame per access.
    id = property(operator.attrgetter("_id"), doc="index of the request in the workload")
    arrival = property(operator.attrgetter("_arrival"), doc="arrival time, seconds")
    prompt_tokens = property(operator.attrgetter("_prompt"), doc="original prompt length")
    generated = property(operator.attrgetter("_generated"), doc="output tokens produced so far")
    prefilled = property(operator.attrgetter("_prefilled"), doc="context tokens in the KV cache")
    kv_tokens = prefilled
    first_token_time = property(operator.attrgetter("_first"), doc="clock at its first token, or None")
    preemptions = property(operator.attrgetter("_preemptions"), doc="times it was preempted")

    @property
    def context_tokens(self) -> int:
        """Prompt plus generated tokens: what a (re)admission must prefill."""
        return self._prompt + self._generated

    @property
    def remaining_prefill(self) -> int:
        """Context tokens not yet in the cache; 0 once it decodes."""
        return self._prompt + self._generated - self._prefilled

    @property
    def blocks(self) -> int:
        """KV blocks it holds."""
        return -(-self._prefilled // self._bs)

    def __repr__(self) -> str:
        return (f"Request(id={self._id}, arrival={self._arrival}, prompt_tokens={self._prompt}, "
                f"generated={self._generated}, prefilled={self._prefilled})")  # fmt: skip


class State:
    """The engine state passed to the scheduler; one object, updated in place before every call."""

    __slots__ = ("clock", "iteration", "waiting", "running", "free_blocks", "total_blocks", "block_size",
                 "slo_ttft", "slo_tpot", "max_new_tokens", "finished_output_lengths", "cost")  # fmt: skip

    def __init__(self, w: Workload) -> None:
        self.clock, self.iteration, self.free_blocks = 0.0, 0, 0
        self.waiting: tuple[Request, ...] = ()  # tuples: a policy sorting them in place cannot upset the engine
        self.running: tuple[Request, ...] = ()
        self.block_size = w.block_size
        self.total_blocks = w.kv_capacity_tokens // w.block_size
        self.slo_ttft, self.slo_tpot, self.max_new_tokens, self.cost = w.slo_ttft, w.slo_tpot, w.max_new_tokens, w.cost
        self.finished_output_lengths: list[int] = []  # the engine only appends: a policy may read it freely
