# expect: error: Operation not permitted
# Class 3: a SysV semaphore set and message queue, which outlive the process that made them.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000


def schedule(p, w, d):
    for made in (libc.semget(0x5EED, 4, IPC_CREAT | 0o666), libc.msgget(0x5EED, IPC_CREAT | 0o666)):
        if made < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    return sorted(range(len(p)), key=lambda j: d[j])
