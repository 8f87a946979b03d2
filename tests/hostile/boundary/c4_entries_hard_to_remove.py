# expect: ok
# Class 4: entries a careless clean-up trips on: unreadable directories, a symlink out of the sandbox's /tmp,
# a FIFO, a socket, names of 255 bytes and with newlines.
import os
import socket


def schedule(p, w, d):
    if not os.path.exists("locked"):
        os.makedirs("locked/inner/deeper")
        open("locked/inner/file", "w").write("x")
        os.chmod("locked/inner", 0)
        os.chmod("locked", 0)
        os.symlink("/usr", "escape")
        os.symlink("/tmp", "up")
        os.mkfifo("fifo")
        socket.socket(socket.AF_UNIX).bind("socket")
        open("n" * 255, "w").close()
        open("line\nbreak", "w").close()
    return sorted(range(len(p)), key=lambda j: d[j])
