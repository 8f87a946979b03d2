"""Initial program for evolving the scheduler of a continuous-batching LLM server (the `serving` problem).

Plain first-come-first-served continuous batching, the simplest feasible relative of vLLM's scheduler (Kwon et
al., SOSP 2023): every iteration the running requests decode one token each; if their next tokens would not
fit in the free KV blocks, the newest-admitted running requests are preempted (their cache is dropped, to be
recomputed) until they do. Otherwise waiting requests are admitted in arrival order, each with its whole
context as one prefill chunk, while they fit in the free blocks; the first that does not fit blocks the queue.
No watermark, no cap on batch size or prefill tokens, no chunked prefill, no use of the SLOs or of output-length
history: each of those is room for evolution.

`schedule(state)` returns `{"prefill": {id: tokens}, "preempt": [ids]}` (see docs/serving.md).
"""


def blocks_for(tokens, block_size):
    """KV blocks that hold `tokens` tokens."""
    return -(-tokens // block_size)


def growth(request, block_size):
    """Blocks a running request adds this iteration if it decodes, or finishes its prefill and emits a token."""
    return blocks_for(request.context_tokens + 1, block_size) - request.blocks


# EVOLVE-BLOCK-START
def schedule(state):
    """One iteration's decision: keep the running batch decoding, then admit waiting requests in order."""
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
    if not preempt:
        for r in state.waiting:
            cost = blocks_for(r.context_tokens + 1, bs)
            if cost > free:
                break
            prefill[r.id] = r.remaining_prefill
            free -= cost
    return {"prefill": prefill, "preempt": preempt}


# EVOLVE-BLOCK-END
