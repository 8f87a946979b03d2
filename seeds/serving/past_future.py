"""LightLLM's Past-Future scheduler: admit a request only if the batch's predicted peak KV use fits.

Gong et al., "Past-Future Scheduler for LLM Serving under SLA Guarantees" (ASPLOS 2025), as in its artifact
(`WuSiYu/lightllm-ae`, `behavior-analysis/scheduler_pastfuture_*.py`) and LightLLM's router
(`req_queue/.../impl.py`, `_can_add_new_req`):
- Past: the output lengths of the last 1000 finished requests (`state.finished_output_lengths`), padded with
  500 copies of a prior of 512 tokens until enough have finished, form the empirical distribution of output
  lengths. A request that has generated `g` tokens ends at a length drawn from that distribution conditioned
  on exceeding `g`: the paper draws a uniform position in `[g, lengths above g..., max(max_new_tokens,
  longest)]` and interpolates linearly. Here the draw is deterministic (`estimate_output`): its uniform level
  comes from a low-discrepancy sequence over request ids and the draw number, so a request keeps its draw
  from one iteration to the next and a run is reproducible.
- Future: with `c_i` the tokens request i holds once its next token is out and `r_i` the tokens it still has to
  generate by its draw, the batch's KV use peaks when some request finishes. Sorting the requests by `r`
  in decreasing order, when the k-th finishes the k longest are alive and hold `sum(c_1..c_k) + k * r_k`
  tokens; the peak is the largest of these. As in the paper, `min(5, 200 // n + 1)` draws of the whole batch
  are taken (n running requests) and the largest peak counts.
- A waiting request is admitted (in arrival order, whole context as one chunk, at most 8192 prefill tokens
  per iteration) only if that peak with it stays within 97% of the cache (the paper's 3% reserve); the first
  that does not fit blocks the queue. A refused head is checked again after 10 iterations, or at once when
  the batch or the history changes (LightLLM, too, tries to admit only every few decode steps).
- Draws can be short, so the running batch can still overflow: as in vLLM, the newest-admitted running
  requests are then preempted (recompute), and nothing is admitted in that iteration.

`estimate_output(request, state, draw=0)` is a module-level function so that the oracle
(`problems/serving/oracle.py`) can substitute the true output lengths.
`schedule(state)` returns `{"prefill": {id: tokens}, "preempt": [ids]}` (see docs/serving.md).
"""

import bisect


def blocks_for(tokens, block_size):
    """KV blocks that hold `tokens` tokens."""
    return -(-tokens // block_size)


def growth(request, block_size):
    """Blocks a running request adds this iteration if it decodes, or finishes its prefill and emits a token."""
    return blocks_for(request.context_tokens + 1, block_size) - request.blocks


_history = {"key": None, "sorted": []}


def sorted_history(state, window, prior_length, prior_count):
    """The last `window` of (`prior_count` copies of `prior_length`, then every finished output length), sorted.

    Recomputed only when a request has finished since the last call.
    """
    lengths = state.finished_output_lengths
    key = (id(lengths), len(lengths), window, prior_length, prior_count)
    if _history["key"] != key:
        recent = lengths[-window:]
        padding = max(0, min(prior_count, window - len(recent)))
        _history["key"] = key
        _history["sorted"] = sorted([prior_length] * padding + list(recent))
    return _history["sorted"]


def peak_blocks(loads, block_size):
    """Peak KV blocks of a batch over its future, from (tokens held after this iteration, tokens still to come).

    Sorted by tokens to come, longest first: when the k-th finishes, the first k hold their tokens plus k times
    its remaining count; a request's block rounding adds at most block_size - 1 tokens.
    """
    peak = 0
    held = 0
    for k, (tokens, remaining) in enumerate(sorted(loads, key=lambda load: -load[1]), start=1):
        held += tokens + block_size - 1
        peak = max(peak, held + k * remaining)
    return peak // block_size


# The last refusal of each instance, keyed by its state object (one per instance, updated in place): instances of
# a split run side by side in one process, so a single module-level record would mix them.
_refused = {}


# EVOLVE-BLOCK-START
RESERVE = 0.03  # share of the cache the peak must leave free (the paper's margin for short draws)


def estimate_output(request, state, draw=0):
    """A draw of the request's total output length from the finished lengths above what it has generated.

    The points are `generated`, the history's lengths above it, and `max(max_new_tokens, longest seen)`; a
    uniform level picks a position between them, interpolated linearly. Draw `draw` of request `id` uses the
    level frac((id + 1) * 0.618... + draw * 0.754...) (golden-ratio sequences: spread over ids and draws).
    """
    window = 1000
    prior_length = 512
    prior_count = 500
    generated = request.generated
    history = sorted_history(state, window, prior_length, prior_count)
    start = bisect.bisect_right(history, generated)
    above = len(history) - start
    top = max(state.max_new_tokens, history[-1] if history else 0)
    level = ((request.id + 1) * 0.6180339887498949 + draw * 0.7548776662466927) % 1.0
    position = level * (above + 1)
    i = int(position)

    def point(k):
        if k == 0:
            return generated
        return history[start + k - 1] if k <= above else top

    low, high = point(i), point(min(i + 1, above + 1))
    estimate = round(low + (high - low) * (position - i))
    return min(max(estimate, generated + 1), max(state.max_new_tokens, generated + 1))


def schedule(state):
    """One iteration's decision: decode the running batch (preempting on overflow), then admit by peak KV."""
    max_batched_tokens = 8192
    max_draws = 5
    samples = 200
    recheck = 10
    bs = state.block_size
    running = list(state.running)
    need = sum(growth(r, bs) for r in running)
    free = state.free_blocks
    preempt = []
    while running and need > free:
        victim = running.pop()  # the newest admitted
        need -= growth(victim, bs)
        free += victim.blocks
        preempt.append(victim.id)
    free -= need
    prefill = {r.id: r.remaining_prefill for r in running if r.remaining_prefill > 0}
    if preempt or not state.waiting:
        return {"prefill": prefill, "preempt": preempt}
    draws = min(max_draws, samples // max(len(running), 1) + 1)
    limit = int((1 - RESERVE) * state.total_blocks)
    # A refused head of the queue is checked again after `recheck` iterations, or as soon as the batch or the
    # history changes (LightLLM, too, tries to admit only every few decode steps).
    key = (id(state.finished_output_lengths), len(state.finished_output_lengths), len(running))
    key += (running[-1].id if running else -1, state.waiting[0].id)

    def load(r, d):
        # Tokens the request holds after this iteration, and tokens it still has to generate after that.
        return (r.context_tokens + 1, estimate_output(r, state, d) - r.generated - 1)

    scenarios = None
    tokens = sum(prefill.values())
    for r in state.waiting:
        chunk = r.remaining_prefill
        if (tokens and tokens + chunk > max_batched_tokens) or blocks_for(r.context_tokens + 1, bs) > free:
            break
        if scenarios is None:
            refused = _refused.get(id(state))
            if refused and refused[0] is state and refused[1] == key and 0 <= state.iteration - refused[2] < recheck:
                break
            scenarios = [[load(q, d) for q in running] for d in range(draws)]
        new = [load(r, d) for d in range(draws)]
        if max(peak_blocks([*loads, extra], bs) for loads, extra in zip(scenarios, new)) > limit:
            if r is state.waiting[0]:
                _refused[id(state)] = (state, key, state.iteration)  # the state kept, so its id is not reused
            break
        prefill[r.id] = chunk
        for loads, extra in zip(scenarios, new):
            loads.append(extra)
        free -= blocks_for(r.context_tokens + 1, bs)
        tokens += chunk
    return {"prefill": prefill, "preempt": preempt}


# EVOLVE-BLOCK-END
