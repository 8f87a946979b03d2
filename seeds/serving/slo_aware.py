"""SLO-aware admission: just enough iteration time for the decodes, earliest feasible TTFT deadline first.

The idea is JITServe's (Zhang et al., "JITServe: SLO-aware LLM Serving with Imprecise Request Information",
NSDI 2026, arXiv:2504.20068): give each request just enough serving capacity to meet its SLO, and the rest to
others. The admission test and the deferral of requests that cannot make it follow SLOs-Serve's soft
admission control (Chen et al., "SLOs-Serve: Optimized Serving of Multi-SLO LLMs", arXiv:2504.08784) and
earliest-deadline-first (EDF) scheduling; the batches are Sarathi-Serve's chunked prefill (OSDI 2024) with
vLLM's memory rules, as in `sarathi.py`:
- time budget: instead of a fixed 512 tokens, each iteration's prefill chunks are cut so that its time predicted
  by the state's cost model (`state.cost.iteration_seconds`, with the running batch's decodes and the KV they
  read) stays within a share (80%) of the TPOT SLO: just enough time for the decodes to meet TPOT, the rest
  for prefill (running partial prefills first, in admission order, then admissions);
- admission order: a preempted request whose first token met the TTFT SLO first; then waiting requests by TTFT
  deadline (arrival + `slo_ttft`), earliest first, among those whose prefill is predicted to finish by it,
  behind the prefill work ahead of them (running partial prefills and feasible requests with earlier
  deadlines) at this iteration's prefill rate; then, oldest first, the requests that can no longer meet their
  TTFT: deferred, served when nothing that can still make it waits, never dropped;
- memory as in vLLM: a request is admitted only if the free blocks, after those every started prefill and it
  need to complete, stay at or above the watermark (1% of the blocks), 256 requests at most, and the first
  that does not fit blocks the queue; when the running requests' next tokens and chunks would not fit, the
  newest-admitted are preempted (recompute) until they do, and nothing is admitted in that iteration.

`schedule(state)` returns `{"prefill": {id: tokens}, "preempt": [ids]}` (see docs/serving.md).
"""


def blocks_for(tokens, block_size):
    """KV blocks that hold `tokens` tokens."""
    return -(-tokens // block_size)


def blocks_after(request, chunk, block_size):
    """Blocks a request holds after an iteration that prefills `chunk` more tokens of it (0: decode or wait)."""
    if request.remaining_prefill == 0 or chunk == request.remaining_prefill:
        return blocks_for(request.context_tokens + 1, block_size)
    return blocks_for(request.prefilled + chunk, block_size)


def largest_chunk(cost, plan, before, most, target):
    """The most tokens (<= `most`) of a chunk starting after `before` cached tokens that keep the iteration of
    `plan` = [prefill tokens, decodes, KV tokens read, query-key pairs] within `target` seconds."""
    tokens, decodes, kv, pairs = plan
    lo, hi = 0, most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        chunk_pairs = mid * before + mid * (mid + 1) // 2  # causal: each token sees those before it
        if cost.iteration_seconds(tokens + mid, decodes, kv + before, pairs + chunk_pairs) <= target:
            lo = mid
        else:
            hi = mid - 1
    return lo


def add_chunk(plan, before, chunk):
    """`plan` with a chunk of `chunk` tokens after `before` cached tokens."""
    plan[0] += chunk
    plan[2] += before
    plan[3] += chunk * before + chunk * (chunk + 1) // 2


def plan_running(cost, running, target, block_size):
    """Chunks for the running requests within `target` seconds (decodes first, then partial prefills in order).

    Returns the chunks, the iteration's plan, the blocks the batch adds this iteration, and the blocks its partial
    prefills will still add before they complete.
    """
    decoding = [r for r in running if r.remaining_prefill == 0]
    plan = [0, len(decoding), sum(r.context_tokens for r in decoding), 0]
    chunks = {}
    added = pending = 0
    for r in running:
        chunk = 0
        if r.remaining_prefill > 0:
            chunk = largest_chunk(cost, plan, r.prefilled, r.remaining_prefill, target)
            if chunk:
                chunks[r.id] = chunk
                add_chunk(plan, r.prefilled, chunk)
        after = blocks_after(r, chunk, block_size)
        added += after - r.blocks
        pending += blocks_for(r.context_tokens + 1, block_size) - after
    return chunks, plan, added, pending


def prefill_finish(cost, running, clock, target):
    """A function of a count of prompt tokens: the clock by which they are predicted to be prefilled behind the
    running batch's decodes, in iterations of `target` seconds (each the most prefill that keeps it within
    `target`), the last one shorter."""
    decoding = [r for r in running if r.remaining_prefill == 0]
    decodes, decode_kv = len(decoding), sum(r.context_tokens for r in decoding)
    rate = max(1, largest_chunk(cost, [0, decodes, decode_kv, 0], 0, 1 << 20, target))
    return lambda tokens: clock + tokens // rate * target + cost.iteration_seconds(tokens % rate, decodes, decode_kv)


# EVOLVE-BLOCK-START
def schedule(state):
    """One iteration's decision: decodes and chunks within the TPOT-derived time, EDF admission of feasible ones."""
    tpot_share = 0.8  # iteration time target, as a share of the TPOT SLO
    ttft_share = 1.0  # a request is feasible if its prefill is predicted to end within this share of the TTFT SLO
    watermark_fraction = 0.01
    max_num_seqs = 256
    cost, bs = state.cost, state.block_size
    target = tpot_share * state.slo_tpot
    running = list(state.running)
    free = state.free_blocks
    preempt = []
    chunks, plan, added, pending = plan_running(cost, running, target, bs)
    while running and added > free:
        victim = running.pop()  # the newest admitted
        free += victim.blocks
        preempt.append(victim.id)
        chunks, plan, added, pending = plan_running(cost, running, target, bs)
    if preempt:
        return {"prefill": chunks, "preempt": preempt}
    free -= added

    finish_time = prefill_finish(cost, running, state.clock, target)
    ahead = sum(r.remaining_prefill for r in running)
    resumed, fresh, deferred = [], [], []
    for r in state.waiting:
        if r.first_token_time is None:
            fresh.append(r)
        elif r.first_token_time - r.arrival <= state.slo_ttft:  # preempted after a first token in time
            resumed.append(r)
            ahead += r.context_tokens
        else:
            deferred.append(r)
    feasible = []
    for r in fresh:  # by arrival: every deadline is arrival + slo_ttft, so this is EDF order
        deadline = r.arrival + ttft_share * state.slo_ttft
        if deadline > state.clock and finish_time(ahead + r.context_tokens) <= deadline:
            feasible.append(r)
            ahead += r.context_tokens
        else:
            deferred.append(r)
    deferred.sort(key=lambda r: r.id)  # ids are in arrival order: oldest first

    watermark = int(watermark_fraction * state.total_blocks)
    seqs = len(running)
    for r in resumed + feasible + deferred:
        if seqs >= max_num_seqs:
            break
        complete = blocks_for(r.context_tokens + 1, bs)
        if free - pending - complete < watermark:
            break
        chunk = largest_chunk(cost, plan, 0, r.remaining_prefill, target)
        if chunk == 0:
            break
        add_chunk(plan, 0, chunk)
        after = blocks_after(r, chunk, bs)
        chunks[r.id] = chunk
        free -= after
        pending += complete - after
        seqs += 1
    return {"prefill": chunks, "preempt": preempt}


# EVOLVE-BLOCK-END
