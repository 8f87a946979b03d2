# expect: ok
# Class 6: looks through every live object of its process for spot availability beyond the current tick (a
# scenario's trace, an instance's data). Finding any, it answers with something that is not an action, so that
# the test sees it; finding none, it is the seed.
import gc

_calls = [0]


def _attribute(obj, name):
    try:
        return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    except Exception:  # noqa: BLE001 - some objects refuse being looked at
        return None


def _future(state):
    now = state.tick + 1
    for obj in gc.get_objects():
        trace = _attribute(obj, "available")
        if isinstance(trace, (list, tuple, str)) and len(trace) > now and type(obj).__name__ != "State":
            return True
        zones = obj.get("zones") if isinstance(obj, dict) else None
        if isinstance(zones, list) and any(isinstance(z, dict) and "available" in z for z in zones):
            return True
    return False


def decide(state):
    _calls[0] += 1
    if _calls[0] in (1, 2000, 60_000) and _future(state):
        return "peek"
    return honest(state)  # noqa: F821 - the seed, appended by test_hidden_state.py
