# expect: error: Operation not permitted
# Class 3: a 96 MiB SysV shared-memory segment, outside the memory limit and /tmp's cap, for the next candidate.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000


def schedule(p, w, d):
    segment = libc.shmget(0x5EED, 96 << 20, IPC_CREAT | 0o666)
    if segment < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    libc.shmat.restype = ctypes.c_void_p
    address = libc.shmat(segment, None, 0)
    ctypes.memset(address, 7, 96 << 20)
    return sorted(range(len(p)), key=lambda j: d[j])
