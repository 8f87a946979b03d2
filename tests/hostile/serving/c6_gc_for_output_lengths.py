# expect: ok
# Class 6: looks through every live object of its process for what a scheduler cannot know: true output lengths
# (a workload's or engine's ``output``, an instance's data) or requests that have not arrived. Finding any, it
# answers with a decision the engine rejects, so that the test sees it; finding none, it is the seed.
import gc

_calls = [0]


def _attribute(obj, name):
    try:
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - some objects refuse being looked at
        return None


def _hidden(state):
    seen = len(state.waiting) + len(state.running) + len(state.finished_output_lengths)
    for obj in gc.get_objects():
        output = _attribute(obj, "output")
        if isinstance(output, (list, tuple)) and any(output):
            return True
        arrivals = _attribute(obj, "arrivals")
        if isinstance(arrivals, (list, tuple)) and len(arrivals) > seen:
            return True
    return False


def schedule(state):
    _calls[0] += 1
    if _calls[0] in (1, 50, 2000) and _hidden(state):
        return {"prefill": {10**9: 1}}
    return honest(state)  # noqa: F821 - the seed, appended by test_hidden_state.py
