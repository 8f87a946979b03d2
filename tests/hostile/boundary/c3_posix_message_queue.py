# expect: error: Operation not permitted
# Class 3: a POSIX message queue: it lives in the IPC namespace after its process, and cannot even be listed
# without mounting the mqueue file system.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)


def schedule(p, w, d):
    queue = libc.mq_open(b"/adrs-left-behind", os.O_CREAT | os.O_RDWR, 0o666, None)
    if queue < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return sorted(range(len(p)), key=lambda j: d[j])
