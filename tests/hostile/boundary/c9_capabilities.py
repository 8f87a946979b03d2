# expect: error: PermissionError
# Class 9: any capability left in any set (the bounding set was once full), then becoming root.
import os


def schedule(p, w, d):
    sets = {
        line.split(":")[0]: int(line.split()[1], 16) for line in open("/proc/self/status") if line.startswith("Cap")
    }
    if any(sets.values()):
        raise RuntimeError(f"ESCAPED: capabilities left {sets}")
    os.setuid(0)
    raise RuntimeError("ESCAPED: it became root")
