# expect: ok
# Class 4: fills the sandbox's /tmp to the last byte, so that the next candidate cannot write a file.
import os

BLOCK = b"x" * (1 << 20)


def schedule(p, w, d):
    if not os.path.exists("full"):
        open("full", "w").close()
        try:
            for k in range(10_000):
                with open(f"f{k}", "wb") as file:
                    for _ in range(15):  # files stay under the file-size limit
                        file.write(BLOCK)
        except OSError:
            pass
    return sorted(range(len(p)), key=lambda j: d[j])
