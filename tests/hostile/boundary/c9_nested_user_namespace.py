# expect: error: Operation not permitted
# Class 9: a nested user namespace, whose root could mount file systems and reach kernel surfaces.
import ctypes
import os

CLONE_NEWUSER = 0x10000000
libc = ctypes.CDLL(None, use_errno=True)


def schedule(p, w, d):
    if libc.unshare(CLONE_NEWUSER) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    raise RuntimeError("ESCAPED: it has a user namespace of its own")
