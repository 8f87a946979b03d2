# expect: ok
import os


def schedule(p, w, d):
    loot = [f"{k}={v}" for k, v in os.environ.items()]
    for pid in os.listdir("/proc"):
        try:
            loot.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
    if any("hunter2" in item for item in loot):
        return [0] * len(p)  # found the secret: fail loudly so the test sees it
    return sorted(range(len(p)), key=lambda j: d[j])
