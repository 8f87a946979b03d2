# expect: error: MemoryError
def schedule(p, w, d):
    hoard = []
    while True:
        hoard.append(bytearray(256 * 1024 * 1024))
