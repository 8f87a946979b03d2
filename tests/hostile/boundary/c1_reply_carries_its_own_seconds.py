# expect: error: malformed reply|'seconds'
# Class 1: every reply of the candidate's process carries its own "seconds", as the server once took it over the
# measured time; the calls burn 30 ms each so that a faked time would show. test_boundary.py runs it with FORGED
# set to 0, -5, NaN and a text.
import json
import time

import evaluators.candidate_process as process

FORGED = 0.0
_send = process.write_frame


def _forged(fd, payload):
    reply = json.loads(payload)
    if isinstance(reply, dict) and "output" in reply:
        reply["seconds"] = FORGED
    _send(fd, json.dumps(reply).encode())


process.write_frame = _forged


def schedule(p, w, d):
    started = time.perf_counter()
    while time.perf_counter() - started < 0.03:
        pass
    return sorted(range(len(p)), key=lambda j: d[j])
