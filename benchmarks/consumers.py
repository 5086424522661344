"""The three ways of reading a Letta stream that the loopback benchmarks compare.

Each consumer imports its own libraries in its constructor, not at module level, so that a
fan-out child process that runs only the official SDK carries no letta-async or msgspec
modules in its memory figures (and the other way round, as far as possible).

- :class:`Floor`: aiohttp bytes, frames split on blank lines, one ``msgspec`` decode per frame
  into letta-async's union of structs. No SSE rules, no error handling, no resume
  bookkeeping: the least work any aiohttp + msgspec client can do, hence the floor.
- :class:`Ours`: ``letta_async.AsyncLetta(...).agents.messages.stream(...)``.
- :class:`Official`: ``letta_client.AsyncLetta(...).agents.messages.stream(...)`` with the
  SDK's default transport (httpx, a pool of 100 connections) and models (pydantic). The
  SDK marks ``stream`` as deprecated in favour of ``create(streaming=True)``; both return
  the same ``AsyncStream`` over the same code, so the figures hold for either.

Every consumer is called with an agent id (which picks the scenario, see
``loopback_server.py``) and an optional ``on_first`` callback run when the first event has
been decoded; it returns the number of events it received, ``[DONE]`` not counted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["CONSUMERS", "MESSAGES", "BytesOnly", "Floor", "Official", "Ours", "official_version"]

MESSAGES = [{"role": "user", "content": "Tell me about memory blocks."}]

OnFirst = Callable[[], None] | None


class Floor:
    """aiohttp bytes, split on blank lines, one msgspec call per frame: nothing more."""

    name = "raw floor"

    def __init__(self, base_url: str, **_: Any) -> None:
        import msgspec

        from letta_async.types import LettaStreamingResponse

        self.base_url = base_url
        self.session: Any = None
        self.decode = msgspec.json.Decoder(LettaStreamingResponse).decode
        self.body = msgspec.json.encode({"messages": MESSAGES, "streaming": True})

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            skip_auto_headers=("User-Agent",),
            timeout=aiohttp.ClientTimeout(total=None, sock_read=120),
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def __call__(self, agent_id: str, on_first: OnFirst = None) -> int:
        decode = self.decode
        count = 0
        pending: list[bytes] = []
        url = f"{self.base_url}/v1/agents/{agent_id}/messages"
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        async with self.session.post(url, data=self.body, headers=headers) as response:
            response.raise_for_status()
            async for chunk in response.content.iter_any():
                if b"\n" not in chunk:
                    # Inside one big frame: keep the pieces and join them once, so a large
                    # event costs linear time, not quadratic.
                    pending.append(chunk)
                    continue
                if pending:
                    pending.append(chunk)
                    chunk = b"".join(pending)
                    pending = []
                frames = chunk.split(b"\n\n")
                tail = frames.pop()
                if tail:
                    pending.append(tail)
                for frame in frames:
                    if frame:
                        payload = frame[6:]
                        if payload != b"[DONE]":
                            decode(payload)
                            if count == 0 and on_first is not None:
                                on_first()
                            count += 1
        return count


class BytesOnly:
    """Read the body and count frames, decode nothing: the cost of the server and the socket.

    Not a client: it shows how much of every consumer's time is spent waiting for the server
    process to write, which is most of it when the server writes one small frame at a time.
    """

    name = "bytes only"

    def __init__(self, base_url: str, **_: Any) -> None:
        self.base_url = base_url
        self.session: Any = None

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), skip_auto_headers=("User-Agent",)
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def __call__(self, agent_id: str, on_first: OnFirst = None) -> int:
        frames = 0
        last = b""
        url = f"{self.base_url}/v1/agents/{agent_id}/messages"
        async with self.session.post(url, data=b"{}") as response:
            response.raise_for_status()
            async for chunk in response.content.iter_any():
                frames += chunk.count(b"\n\n") + (last == b"\n" and chunk[:1] == b"\n")
                last = chunk[-1:]
        return frames - 1  # [DONE]


class Ours:
    """letta-async as a user writes it, one client (one pool) for every call."""

    name = "letta-async"

    def __init__(self, base_url: str, *, limits: Any = None) -> None:
        from letta_async import AsyncLetta

        self.client = AsyncLetta(base_url=base_url, api_key="benchmark", limits=limits)

    async def open(self) -> None:
        await self.client.__aenter__()

    async def close(self) -> None:
        await self.client.close()

    async def __call__(self, agent_id: str, on_first: OnFirst = None) -> int:
        count = 0
        stream = self.client.agents.messages.stream(agent_id, messages=MESSAGES, stream_tokens=True)
        async with stream:
            async for _event in stream:
                if count == 0 and on_first is not None:
                    on_first()
                count += 1
        return count

    async def retrieve_run(self, run_id: str) -> Any:
        return await self.client.runs.retrieve(run_id)

    async def list_messages(self, agent_id: str) -> Any:
        return await self.client.agents.messages.list(agent_id, limit=20)

    async def create_block(self) -> Any:
        return await self.client.blocks.create(label="human", value="The user is a tester.")


class Official:
    """letta-client as a user writes it: default transport, pool and retries."""

    name = "letta-client"

    def __init__(self, base_url: str, **_: Any) -> None:
        from letta_client import AsyncLetta

        # Once for the process: a catch_warnings() around each call would race between the
        # concurrent tasks of the fan-out, since the filter list is global.
        warnings.filterwarnings("ignore", message="deprecated", category=DeprecationWarning)
        self.client = AsyncLetta(base_url=base_url, api_key="benchmark")

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        await self.client.close()

    async def __call__(self, agent_id: str, on_first: OnFirst = None) -> int:
        count = 0
        stream = await self.client.agents.messages.stream(
            agent_id, messages=MESSAGES, stream_tokens=True
        )
        async with stream:
            async for _event in stream:
                if count == 0 and on_first is not None:
                    on_first()
                count += 1
        return count

    async def retrieve_run(self, run_id: str) -> Any:
        return await self.client.runs.retrieve(run_id)

    async def list_messages(self, agent_id: str) -> Any:
        return await self.client.agents.messages.list(agent_id, limit=20)

    async def create_block(self) -> Any:
        return await self.client.blocks.create(label="human", value="The user is a tester.")


CONSUMERS: dict[str, type[Floor] | type[Ours] | type[Official]] = {
    "floor": Floor,
    "ours": Ours,
    "official": Official,
}


def official_version() -> str | None:
    """The installed letta-client version, or None when the SDK is not importable."""
    try:
        from importlib import metadata

        import letta_client  # noqa: F401
    except ImportError:
        return None
    return metadata.version("letta-client")
