# expect: error: Permission denied|Operation not permitted
# Class 3: POSIX shared memory in /dev/shm.
from multiprocessing import shared_memory


def schedule(p, w, d):
    block = shared_memory.SharedMemory(name="adrs-left-behind", create=True, size=8 << 20)
    block.buf[:4] = b"left"
    return sorted(range(len(p)), key=lambda j: d[j])
