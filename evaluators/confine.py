"""What a candidate's process gives up before it reads a line of candidate code. Standard library only.

- Privileges: every capability leaves the bounding, inheritable and ambient sets, then the process becomes its
  sandbox's unprivileged uid, and ``no_new_privs`` holds, so no setuid binary or file capability gives any back.
- System calls (a seccomp filter): nothing that creates or enters namespaces (so no nested user namespace, whose
  root could mount or reach kernel surfaces an unprivileged process cannot), nothing that outlives the process
  on its own (SysV shared memory, semaphores and message queues, POSIX message queues, keyrings: the next
  candidate could find them there), no mounts, no tracing of or reading from other processes, and none of the
  kernel's rarely needed, often exploited surfaces (bpf, userfaultfd, io_uring, perf events, modules, kexec).
  Denied calls fail with EPERM; ``clone3`` fails with ENOSYS, since the filter cannot read its flags, and the C
  library then falls back to ``clone``, whose flags it checks.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

_DENIED = (
    "unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen fsconfig fsmount fspick "
    "mount_setattr shmget shmat shmctl shmdt semget semop semctl semtimedop msgget msgsnd msgrcv msgctl mq_open "
    "mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr add_key request_key keyctl ptrace "
    "process_vm_readv process_vm_writev pidfd_getfd process_madvise perf_event_open bpf userfaultfd io_uring_setup "
    "io_uring_enter io_uring_register kexec_load kexec_file_load init_module finit_module delete_module reboot "
    "swapon swapoff acct quotactl syslog name_to_handle_at open_by_handle_at"
).split()

# (audit architecture, system call numbers) per machine; aarch64 uses the kernel's generic table.
_X86_64 = dict(zip(_DENIED + ["clone", "clone3"], (
    272, 308, 165, 166, 155, 161, 428, 429, 430, 431, 432, 433, 442, 29, 30, 31, 67, 64, 65, 66, 220, 68, 69, 70, 71,
    240, 241, 242, 243, 244, 245, 248, 249, 250, 101, 310, 311, 438, 440, 298, 321, 323, 425, 426, 427, 246, 320,
    175, 313, 176, 169, 167, 168, 163, 179, 103, 303, 304, 56, 435,
)))  # fmt: skip
_GENERIC = dict(zip(_DENIED + ["clone", "clone3"], (
    97, 268, 40, 39, 41, 51, 428, 429, 430, 431, 432, 433, 442, 194, 196, 195, 197, 190, 193, 191, 192, 186, 189, 188,
    187, 180, 181, 182, 183, 184, 185, 217, 218, 219, 117, 270, 271, 438, 440, 241, 280, 282, 425, 426, 427, 104,
    294, 105, 273, 106, 142, 224, 225, 89, 60, 116, 264, 265, 220, 435,
)))  # fmt: skip
_ARCHITECTURES = {"x86_64": (0xC000003E, _X86_64), "aarch64": (0xC00000B7, _GENERIC)}

_NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_X32_BIT = 0x40000000  # x86_64's x32 ABI: the same calls under other numbers, denied wholesale

_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_CAPABILITY_VERSION_3 = 0x20080522


class ConfinementUnavailable(RuntimeError):
    """This machine's architecture has no system-call table here; the sandbox refuses to run candidates."""


def supported() -> bool:
    return platform.machine() in _ARCHITECTURES


def seccomp_program() -> bytes:
    """The filter as the kernel reads it: ``struct sock_filter`` instructions (see the module docstring)."""
    machine = platform.machine()
    if machine not in _ARCHITECTURES:
        raise ConfinementUnavailable(f"no seccomp filter for the {machine} architecture (x86_64 and aarch64 only)")
    architecture, numbers = _ARCHITECTURES[machine]
    denied = [numbers[name] for name in _DENIED]
    # Instructions as (code, jump-if-true label, jump-if-false label, k); labels resolve to relative offsets.
    program: list[tuple[int, str | int, str | int, int]] = [
        (_LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "kill", architecture),
        (_LD_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        program.append((_JGE, "deny", 0, _X32_BIT))
    program += [(_JEQ, "deny", 0, number) for number in denied]
    program += [
        (_JEQ, "enosys", 0, numbers["clone3"]),
        (_JEQ, 0, "allow", numbers["clone"]),
        (_LD_ABS, 0, 0, 16),  # the low half of args[0], clone's flags (little-endian)
        (_JSET, "deny", "allow", _NAMESPACE_FLAGS),
    ]
    labels = {"allow": len(program), "deny": len(program) + 1, "enosys": len(program) + 2, "kill": len(program) + 3}
    program += [
        (_RET, 0, 0, _ALLOW),
        (_RET, 0, 0, _ERRNO | errno.EPERM),
        (_RET, 0, 0, _ERRNO | errno.ENOSYS),
        (_RET, 0, 0, _KILL),
    ]

    def offset(target: str | int, at: int) -> int:
        return target if isinstance(target, int) else labels[target] - at - 1

    return b"".join(
        struct.pack("=HBBI", code, offset(jt, at), offset(jf, at), k) for at, (code, jt, jf, k) in enumerate(program)
    )


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (and gid) with no capability left anywhere; needs CAP_SETPCAP, CAP_SETUID and CAP_SETGID."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    for capability in range(last + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0), f"dropping capability {capability}")
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient capabilities")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears the permitted and effective sets
    header = struct.pack("=Ii", _CAPABILITY_VERSION_3, 0)
    empty = bytes(24)  # two __user_cap_data_struct of three u32: effective, permitted, inheritable
    _check(_libc.capset(header, empty), "clearing the inheritable capabilities")


def install_seccomp(program: bytes) -> None:
    """Set ``no_new_privs`` and load the filter; from here on, for this process and all it starts."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp filter")
