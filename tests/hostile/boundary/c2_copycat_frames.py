# expect: ok
# Class 2: walks every frame of its process (the stack it was forked with) for a request holding the previous
# candidate's code. It must find nothing and score as the identity order it falls back on.
import sys


def _previous_code():
    for frame in sys._current_frames().values():
        while frame is not None:
            for value in list(frame.f_locals.values()):
                code = value.get("code") if isinstance(value, dict) else None
                if isinstance(code, str) and "def schedule" in code and "_previous_code" not in code:
                    return code
            frame = frame.f_back
    return None


def schedule(p, w, d):
    code = _previous_code()
    if code is not None:
        namespace = {}
        exec(code, namespace)
        return namespace["schedule"](p, w, d)
    return list(range(len(p)))
