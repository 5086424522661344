"""Every header line a call sends, byte for byte and in order, for each kind of request.

The lists below are what the client sent when its fixed headers were still merged into
every request (read off this loopback server then): where aiohttp is told about them must
not change one byte on the wire.
"""

from __future__ import annotations

import pytest

from letta_async import AsyncLetta, Omit
from letta_async._transport import CLIENT_HEADER
from tests.replay import ReplayServer, json_answer, sse_answer

pytestmark = pytest.mark.anyio

BLOCK = {"id": "block-1", "value": "v", "label": "human", "limit": 5000}


def lines(seen: tuple[tuple[bytes, bytes], ...]) -> list[str]:
    # The Host line names the server's port, which changes from run to run.
    return [f"{k.decode()}: {v.decode()}" for k, v in seen if k.lower() != b"host"]


async def test_each_kind_of_request_sends_the_same_header_lines(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/blocks/block-1", always=json_answer(BLOCK))
    replay.on("POST", "/v1/blocks/", always=json_answer(BLOCK))
    replay.on("POST", "/v1/agents/agent-1/messages/stream", always=sse_answer(b"data: [DONE]\n\n"))
    async with AsyncLetta(replay.base_url, api_key="sk-test", max_retries=0) as client:
        await client.blocks.retrieve("block-1")
        await client.blocks.create(label="human", value="v")
        await client.blocks.retrieve("block-1", extra_headers={"X-Extra": "1"})
        await client.blocks.retrieve("block-1", extra_headers={"Accept": "text/plain"})
        await client.blocks.retrieve("block-1", extra_headers={"X-Letta-Client": Omit()})
        await client.blocks.retrieve("block-1", extra_headers={"Authorization": Omit()})
        async with await client.agents.messages.stream("agent-1", input="hi") as stream:
            [_ async for _ in stream]
        copy = client.with_options(default_headers={"X-Copy": "c"})
        await copy.blocks.retrieve("block-1")
        await copy.blocks.create(label="human", value="v")
        await client.blocks.retrieve("block-1")
    async with AsyncLetta(
        replay.base_url,
        api_key="sk-test",
        max_retries=0,
        default_headers={"User-Agent": "mine/1", "X-Team": "t"},
    ) as client:
        await client.blocks.retrieve("block-1")
        await client.blocks.create(label="human", value="v")
        await client.blocks.retrieve("block-1", extra_headers={"User-Agent": Omit()})
    got = [lines(seen.raw_headers) for seen in replay.requests]
    auth = "Authorization: Bearer sk-test"
    ours = f"X-Letta-Client: {CLIENT_HEADER}"
    json_ = "Accept: application/json"
    gzip = "Accept-Encoding: gzip, deflate"
    body = "Content-Type: application/json"
    length = "Content-Length: 29"
    assert got == [
        [auth, ours, json_, gzip],
        [auth, ours, json_, body, gzip, length],
        [auth, ours, json_, "X-Extra: 1", gzip],
        [auth, ours, "Accept: text/plain", gzip],
        [auth, json_, gzip],
        [ours, json_, gzip],
        [auth, ours, "Accept: text/event-stream", body, gzip, "Content-Length: 31"],
        ["X-Copy: c", auth, ours, json_, gzip],
        ["X-Copy: c", auth, ours, json_, body, gzip, length],
        [auth, ours, json_, gzip],
        ["User-Agent: mine/1", "X-Team: t", auth, ours, json_, gzip],
        ["User-Agent: mine/1", "X-Team: t", auth, ours, json_, body, gzip, length],
        ["X-Team: t", auth, ours, json_, gzip],
    ]
