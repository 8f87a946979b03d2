# expect: infeasible: output must be a list
import os
import pickle


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned-by-candidate",))


def schedule(p, w, d):
    return pickle.dumps(Exploit()).decode("latin-1")
