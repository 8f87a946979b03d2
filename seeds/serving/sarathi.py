"""Sarathi-Serve's stall-free batching: chunked prefills fill a fixed per-iteration token budget around decodes.

Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve" (OSDI 2024), with
vLLM's memory rules (its chunked-prefill scheduler is this design):
- every iteration has a token budget, chosen as the paper does from the TBT (time between tokens) SLO: the
  largest multiple of 128 tokens whose iteration, profiled (here predicted by `state.cost`), fits the TPOT SLO
  (4,352 tokens for Llama-3-8B on an H100 at 0.1 s, 1,408 on an A100; the paper's 512 and 2,048 are its strict
  and relaxed choices for its GPUs and SLOs); each running request that decodes takes 1 token of it, so decodes
  are never stalled by a long prefill;
- the budget left goes first to running requests whose prefill is still partial (in admission order), then to
  waiting requests in arrival order, each getting a chunk cut to the budget left;
- admission as in vLLM: a waiting request is admitted only if the free blocks, after the blocks every
  partially prefilled request and this one need to complete their prefill, stay at or above the watermark (1%
  of the blocks), and the batch holds at most 256 requests; the first that does not fit blocks the queue;
- when the running requests' next tokens and chunks would not fit, the newest-admitted running requests are
  preempted (recompute) until they do, and nothing is admitted in that iteration.

`schedule(state)` returns `{"prefill": {id: tokens}, "preempt": [ids]}` (see docs/serving.md).
"""


def blocks_for(tokens, block_size):
    """KV blocks that hold `tokens` tokens."""
    return -(-tokens // block_size)


def blocks_after(request, chunk, block_size):
    """Blocks a request holds after an iteration that prefills `chunk` more tokens of it (0: decode or wait).

    A request whose prefill completes, or that decodes, emits a token that the cache holds too.
    """
    if request.remaining_prefill == 0 or chunk == request.remaining_prefill:
        return blocks_for(request.context_tokens + 1, block_size)
    return blocks_for(request.prefilled + chunk, block_size)


def slo_token_budget(cost, seconds, step=128):
    """The largest multiple of `step` tokens (at least `step`) whose prefill iteration takes at most `seconds`."""
    budget = step
    while cost.iteration_seconds(budget + step, 0, 0) <= seconds:
        budget += step
    return budget


def plan_running(running, budget, block_size):
    """Chunks for the running requests (decodes take 1 token each, then partial prefills in order).

    Returns the chunks, the budget left, the blocks the batch adds this iteration, and the blocks its partial
    prefills will still add before they complete.
    """
    left = budget - sum(1 for r in running if r.remaining_prefill == 0)
    chunks = {}
    added = 0
    pending = 0
    for r in running:
        chunk = 0
        if r.remaining_prefill > 0 and left > 0:
            chunk = min(r.remaining_prefill, left)
            chunks[r.id] = chunk
            left -= chunk
        after = blocks_after(r, chunk, block_size)
        added += after - r.blocks
        pending += blocks_for(r.context_tokens + 1, block_size) - after
    return chunks, max(left, 0), added, pending


# EVOLVE-BLOCK-START
def schedule(state):
    """One iteration's decision: decodes and prefill chunks within the token budget, preempting on overflow."""
    tbt_share = 1.0  # the budget's iteration time, as a share of the TPOT SLO
    token_budget = slo_token_budget(state.cost, tbt_share * state.slo_tpot)
    watermark_fraction = 0.01
    max_num_seqs = 256
    bs = state.block_size
    running = list(state.running)
    free = state.free_blocks
    preempt = []
    chunks, left, added, pending = plan_running(running, token_budget, bs)
    while running and added > free:
        victim = running.pop()  # the newest admitted
        free += victim.blocks
        preempt.append(victim.id)
        chunks, left, added, pending = plan_running(running, token_budget, bs)
    free -= added
    if preempt:
        return {"prefill": chunks, "preempt": preempt}
    watermark = int(watermark_fraction * state.total_blocks)
    seqs = len(running)
    for r in state.waiting:
        if left <= 0 or seqs >= max_num_seqs:
            break
        complete = blocks_for(r.context_tokens + 1, bs)
        if free - pending - complete < watermark:
            break
        chunk = min(r.remaining_prefill, left)
        after = blocks_after(r, chunk, bs)
        chunks[r.id] = chunk
        free -= after
        pending += complete - after
        left -= chunk
        seqs += 1
    return {"prefill": chunks, "preempt": preempt}


# EVOLVE-BLOCK-END
