"""Imported inside the sandbox: hands the numbers to the candidate and returns its answer."""


def run(candidate, data):
    return candidate.pick(list(data["numbers"]))
