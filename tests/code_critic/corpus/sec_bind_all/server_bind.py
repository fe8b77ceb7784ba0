import socket


def listen(port):
    sock = socket.socket()
    sock.bind(("0.0.0.0", port))  # expect: security
    return sock
