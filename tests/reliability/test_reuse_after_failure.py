"""A connection that carried a server failure is not used again.

Letta answers an unhandled exception with a 500 and closes the connection right behind it,
without ``Connection: close`` (uvicorn). The next request of the program, often a POST that
creates something, must not go out on that connection: it would be lost before the server
read it, and this client does not send a POST again when it may have been carried out. Here
the server drops any request that arrives on a connection that answered 500, as the closed
socket would; the request after the failure must reach a fresh connection and succeed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from letta_async import AsyncLetta, InternalServerError
from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.replay import fixture_bytes

pytestmark = pytest.mark.anyio

FAILURE = fixture_bytes("error_llm500_nonstream.json")
CREATED = fixture_bytes("agent_create.json")


async def test_the_request_after_a_500_goes_out_on_a_new_connection(serve: Any) -> None:
    failed_on: set[int] = set()

    async def handler(request: Request, ex: Exchange) -> None:
        if request.connection in failed_on:
            await ex.cut()  # what a socket closed behind the 500 does to the next request
            return
        if request.path == "/v1/agents/fail":
            failed_on.add(request.connection)
            ex.send(FAILURE, status=500)  # no Connection: close, as uvicorn after a crash
            return
        ex.send(CREATED)

    server: RawServer = await serve(handler)
    async with AsyncLetta(server.base_url, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.agents.retrieve("fail")
        assert caught.value.body == json.loads(FAILURE)
        agent = await client.agents.create(name="after-the-failure")
    assert agent.id == json.loads(CREATED)["id"]
    creates = server.seen("POST", "/v1/agents/")
    assert len(creates) == 1 and creates[0].connection not in failed_on
