"""vLLM's default scheduler without chunked prefill: FCFS admission above a watermark, recompute preemption.

As in vLLM (Kwon et al., "Efficient Memory Management for Large Language Model Serving with PagedAttention",
SOSP 2023; `vllm/core/scheduler.py` and `block_manager.py` of v0, and the v1 scheduler's "running first, then
waiting unless something was preempted"):
- the running requests are served first: each decodes one token; when their next tokens would not fit in the
  free KV blocks, the newest-admitted running requests are preempted by recomputation (their blocks are freed
  and they return to the waiting queue at their arrival position) until they fit;
- in an iteration without preemption, waiting requests are admitted in arrival order, each with its whole
  context (prompt, plus the tokens generated before a preemption) as one prefill chunk, while the free blocks
  left after admission stay at or above the watermark (vLLM's default: 1% of the blocks), the batch holds at
  most `max_num_seqs` = 256 requests and the iteration prefills at most `max_num_batched_tokens` = 8192 tokens
  (vLLM v0's default without chunked prefill: the model's context length); the first request that does not
  fit blocks the queue (a lone request above the token cap is still admitted, so none starves).

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
    """One iteration's decision: decode every running request, preempting the newest on overflow, then admit."""
    watermark_fraction = 0.01
    max_num_seqs = 256
    max_batched_tokens = 8192
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
    if preempt:
        return {"prefill": prefill, "preempt": preempt}
    watermark = int(watermark_fraction * state.total_blocks)
    tokens = sum(prefill.values())
    seqs = len(running)
    for r in state.waiting:
        cost = blocks_for(r.context_tokens + 1, bs)
        chunk = r.remaining_prefill
        if free - cost < watermark or seqs >= max_num_seqs or (tokens and tokens + chunk > max_batched_tokens):
            break
        prefill[r.id] = chunk
        free -= cost
        tokens += chunk
        seqs += 1
    return {"prefill": prefill, "preempt": preempt}


# EVOLVE-BLOCK-END
