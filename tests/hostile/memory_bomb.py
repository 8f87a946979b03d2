# expect: error: MemoryError
def schedule(p, w, d):
    # bytes(n) is calloc'd: each 256 MiB takes address space at once and its pages only when touched, so the
    # hoard meets RLIMIT_AS within microseconds. Zero-filling each block (bytearray) would make the outcome a race
    # between page faults and the 1 s time limit, which a loaded machine loses.
    hoard = []
    while True:
        hoard.append(bytes(256 * 1024 * 1024))
