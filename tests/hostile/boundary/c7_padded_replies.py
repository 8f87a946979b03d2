# expect: error: exceed
# Class 7: pads every reply of its process with 0.9 MB of whitespace (still valid JSON), past the runner's check.
import evaluators.candidate_process as process

_send = process.write_frame


def _padded(fd, payload):
    _send(fd, payload + b" " * 900_000)


process.write_frame = _padded


def schedule(p, w, d):
    return sorted(range(len(p)), key=lambda j: d[j])
