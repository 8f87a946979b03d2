# expect: error: refused: user namespace, setns, mount, ptrace
# Class 9: a user namespace of its own and, as its root, a mount namespace with a tmpfs over /tmp; the sandbox
# server's network namespace; tracing the process that forked it. Each must be refused.
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS, PTRACE_ATTACH = 0x10000000, 0x00020000, 16


def schedule(p, w, d):
    refused = []
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        refused.append("user namespace")
    parent = f"/proc/{os.getppid()}/ns/net"
    if libc.setns(os.open(parent, os.O_RDONLY) if os.access(parent, os.R_OK) else -1, 0) != 0:
        refused.append("setns")
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        refused.append("mount")
    if libc.ptrace(PTRACE_ATTACH, os.getppid(), None, None) != 0:
        refused.append("ptrace")
    if len(refused) < 4:
        raise RuntimeError(f"ESCAPED: only {refused} refused")
    raise PermissionError("refused: " + ", ".join(refused))
