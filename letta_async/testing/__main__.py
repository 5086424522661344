"""``python -m letta_async.testing``: serve the scripted Letta server until Ctrl-C.

Handy for the demo and for poking at the client by hand::

    python -m letta_async.testing --port 8283
    curl -s -XPOST localhost:8283/v1/agents/ -d '{}' -H 'content-type: application/json'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import NoReturn

from ._server import LettaTestServer

PROG = "python -m letta_async.testing"


class _Parser(argparse.ArgumentParser):
    """Bad arguments in one line (the stock parser prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {port}")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(
        prog=PROG,
        description="Serve a local Letta-compatible server with a scripted agent.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8283, help="TCP port (8283; 0 = any free)")
    parser.add_argument(
        "--keepalive-interval",
        type=_seconds,
        default=2.0,
        help="seconds of silence before a keep-alive ping (2.0)",
    )
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument(
        "--no-sdk-gate",
        action="store_true",
        help="accept streaming=true from any User-Agent",
    )
    parser.add_argument(
        "--agent",
        action="store_true",
        help="create one agent at start and print its id",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    server = LettaTestServer(
        host=args.host,
        port=args.port,
        keepalive_interval=args.keepalive_interval,
        api_key=args.api_key,
        sdk_gate=not args.no_sdk_gate,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"Letta test server listening on {server.base_url}", flush=True)
        if args.agent:
            agent = server.create_agent(name="demo-agent")
            print(f"agent: {agent['id']}", flush=True)
        await stop.wait()
    print("stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args))
    except OSError as exc:
        # A busy port, an address this machine does not have: one line, not a traceback.
        reason = (exc.strerror or str(exc)).rsplit("): ", 1)[-1]
        print(
            f"{PROG}: error: cannot listen on {args.host}:{args.port}: {reason}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
