"""Where pods reach an embedded server that listens on loopback only (no ``listen_pod_network``).

A TCP relay bound to the node's bridge address only (never 0.0.0.0), forwarding to the
embedded server's OTLP/HTTP port on 127.0.0.1, so pods can export without the server
listening anywhere but loopback. It lives in this Python process (daemon threads) and
stops with it. ``labkit.k8s.production.pod_otlp_endpoint`` uses the server's own listener
when it has one.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlsplit

__all__ = ["relay_endpoint"]

_relays: dict[tuple[str, int], str] = {}
_lock = threading.Lock()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _serve(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(target, timeout=5)
        except OSError:
            client.close()
            continue
        upstream.settimeout(None)
        threading.Thread(target=_pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()


def relay_endpoint(otlp_http_url: str, bind_host: str) -> str:
    """``http://BIND_HOST:PORT`` relaying to ``otlp_http_url`` (started once per process)."""
    parts = urlsplit(otlp_http_url)
    target = (parts.hostname or "127.0.0.1", parts.port or 4318)
    with _lock:
        if (bind_host, target[1]) in _relays:
            return _relays[(bind_host, target[1])]
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((bind_host, 0))
        listener.listen(64)
        threading.Thread(
            target=_serve, args=(listener, target), name="labkit-otlp-relay", daemon=True
        ).start()
        url = f"http://{bind_host}:{listener.getsockname()[1]}"
        _relays[(bind_host, target[1])] = url
        return url
