# expect: ok
# Class 4: a directory tree 3,000 deep in its own directory (a recursive removal fails at about 1,000, and a
# path-based one at the kernel's path length), left for the clean-up.
import os


def schedule(p, w, d):
    here = os.open(".", os.O_RDONLY)
    for _ in range(3000):
        try:
            os.mkdir("d", dir_fd=here)
        except FileExistsError:
            pass
        below = os.open("d", os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = below
    os.close(here)
    return sorted(range(len(p)), key=lambda j: d[j])
