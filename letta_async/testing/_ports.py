"""Free ports for servers started in tests, below the ephemeral range.

Asking the kernel for port 0 gives a port from the ephemeral range (32768 and up on Linux),
the same range outgoing connections draw their local ports from. A server that learns its
port one way and binds it a moment later (a child process, say) can then lose it to an
outgoing socket, and a fixed choice can collide with one. Ports below 32768 are never handed
to outgoing sockets, so servers started here take one of those, at random to keep parallel
test runs apart.
"""

from __future__ import annotations

import errno
import random
import socket

__all__ = ["LOW_PORTS", "bind_free_port", "free_port"]

LOW_PORTS = range(20000, 32768)
"""Where servers started for tests listen: below the ephemeral range, above the usual
services."""

_TRIES = 200


def bind_free_port(host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket on a free port of :data:`LOW_PORTS`; the caller owns it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last: OSError | None = None
    for port in random.sample(LOW_PORTS, _TRIES):
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            last = exc
            continue
        sock.setblocking(False)
        return sock
    raise OSError(f"no free port in {LOW_PORTS.start}-{LOW_PORTS.stop - 1} on {host}") from last


def free_port(host: str = "127.0.0.1") -> int:
    """A port of :data:`LOW_PORTS` that was free a moment ago, for a server in another process.

    Between this call and the other process's bind another test could take it; outgoing
    connections cannot, which is the collision that port 0 invites.
    """
    sock = bind_free_port(host)
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()
