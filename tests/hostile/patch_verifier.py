# expect: infeasible|error:
import builtins
import sys


def schedule(p, w, d):
    for name, module in list(sys.modules.items()):
        if name.startswith("problems"):
            for attr in dir(module):
                if "verif" in attr or attr in ("run", "aggregate"):
                    setattr(module, attr, lambda *a, **k: {"gap": -100.0})
    builtins.len = lambda _: 0
    return [0] * 20
