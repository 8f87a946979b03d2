# expect: ok
# Class 6: walks the frames that called it and the objects that refer to its state (the engine that runs it)
# for the true output lengths or the whole arrival list. Finding any, it answers with a decision the engine
# rejects; finding none, it is the seed.
import gc
import sys

_calls = [0]


def _knows_too_much(value, seen):
    output = getattr(value, "output", None)
    if isinstance(output, (list, tuple)) and any(output):
        return True
    workload = getattr(value, "w", None)
    return workload is not None and len(getattr(workload, "arrivals", ())) > seen


def _hidden(state):
    seen = len(state.waiting) + len(state.running) + len(state.finished_output_lengths)
    frame = sys._getframe(1)
    while frame is not None:
        if any(_knows_too_much(value, seen) for value in frame.f_locals.values()):
            return True
        frame = frame.f_back
    return any(_knows_too_much(holder, seen) for holder in gc.get_referrers(state))


def schedule(state):
    _calls[0] += 1
    if _calls[0] in (1, 50, 2000) and _hidden(state):
        return {"prefill": {10**9: 1}}
    return honest(state)  # noqa: F821 - the seed, appended by test_hidden_state.py
