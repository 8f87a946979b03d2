# expect: error: malformed reply
# Class 1: writes a frame of its own, {"seconds": 0}, on the reply pipe before the runner writes the answer.
import json
import os

REPLIES = 4  # the candidate process's reply descriptor


def schedule(p, w, d):
    payload = json.dumps({"seconds": 0.0}).encode()
    os.write(REPLIES, len(payload).to_bytes(8, "big") + payload)
    return sorted(range(len(p)), key=lambda j: d[j])
