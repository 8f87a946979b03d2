# expect: ok
# Class 2: looks through every live object of its process for the previous candidate's namespace or request and,
# if it finds one, answers with that program. It must find nothing and score as the identity order it falls back on.
import gc


def _previous():
    for obj in gc.get_objects():
        if not isinstance(obj, dict) or obj is globals():
            continue
        if obj.get("__name__") == "candidate" and callable(obj.get("schedule")):
            return obj["schedule"]
        code = obj.get("code")
        if isinstance(code, str) and "def schedule" in code and "_previous" not in code:
            namespace = {}
            exec(code, namespace)
            return namespace["schedule"]
    return None


def schedule(p, w, d):
    other = _previous()
    if other is not None:
        return other(p, w, d)
    return list(range(len(p)))
