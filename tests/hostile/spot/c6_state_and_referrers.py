# expect: ok
# Class 6: follows what refers to its state (the engine that runs it, its scenario) and the frames that called
# it, for availability beyond the current tick. Finding any, it answers with something that is not an action;
# finding none, it is the seed.
import gc
import sys

_calls = [0]


def _too_long(value, now):
    trace = getattr(value, "available", None)
    return isinstance(trace, (list, tuple)) and len(trace) > now


def _future(state):
    now = state.tick + 1
    frame = sys._getframe(1)
    while frame is not None:
        if any(_too_long(value, now) for value in frame.f_locals.values()):
            return True
        frame = frame.f_back
    for holder in gc.get_referrers(state):
        values = holder.values() if isinstance(holder, dict) else [holder]
        if any(_too_long(value, now) for value in values):
            return True
    return False


def decide(state):
    _calls[0] += 1
    if _calls[0] % 997 == 1 and _future(state):
        return "peek"
    return honest(state)  # noqa: F821 - the seed, appended by test_hidden_state.py
