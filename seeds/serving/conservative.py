"""Conservative admission: reserve each request's largest possible KV footprint, so preemption is never needed.

The static reservation of early continuous-batching servers (Orca, Yu et al., OSDI 2022, reserves a request's
maximum token count at admission; early Hugging Face TGI admitted a batch only if prompt + max_new_tokens of
every request fit): a request counts for `ceil((prompt_tokens + max_new_tokens) / block_size)` blocks from
admission to finish, whatever it has generated so far. Waiting requests are admitted in arrival order, each
with its whole prompt as one prefill chunk, while the reservations of the running requests plus the new one fit
in the cache and the iteration prefills at most 8192 tokens; the first that does not fit blocks the queue.
As no request outgrows its reservation, the running requests always fit and none is ever preempted; the price
is a small batch when outputs are much shorter than `max_new_tokens`.

`schedule(state)` returns `{"prefill": {id: tokens}, "preempt": [ids]}` (see docs/serving.md).
"""


def blocks_for(tokens, block_size):
    """KV blocks that hold `tokens` tokens."""
    return -(-tokens // block_size)


# EVOLVE-BLOCK-START
def schedule(state):
    """One iteration's decision: admit waiting requests in order while their worst-case reservations fit."""
    max_batched_tokens = 8192
    bs = state.block_size
    cap = state.max_new_tokens

    def reservation(r):
        return blocks_for(r.prompt_tokens + cap, bs)

    reserved = sum(reservation(r) for r in state.running)
    prefill = {r.id: r.remaining_prefill for r in state.running if r.remaining_prefill > 0}
    tokens = sum(prefill.values())
    for r in state.waiting:
        chunk = r.remaining_prefill
        if reserved + reservation(r) > state.total_blocks or (tokens and tokens + chunk > max_batched_tokens):
            break
        prefill[r.id] = chunk
        reserved += reservation(r)
        tokens += chunk
    return {"prefill": prefill, "preempt": []}


# EVOLVE-BLOCK-END
