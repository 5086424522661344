"""Smoke test of the stack itself, with raw aiohttp and no client code.

If this fails, the harness (server venv, Postgres, Redis, fake LLM, server start) is broken,
not the client: it is the first thing to look at when the client scenarios fail en masse.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from .conftest import agent_body
from .fake_llm import REPLY_TEXT

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

# Streaming requests must carry no User-Agent: the server answers 422 to any UA that is not
# one of its own SDKs' (aiohttp adds "Python/3.x aiohttp/..." unless told not to).
NO_UA = ["User-Agent"]


async def _read_sse(resp: aiohttp.ClientResponse) -> list[str]:
    """The ``data:`` payloads of a stream, in order, including the final ``[DONE]``."""
    payloads: list[str] = []
    async for raw in resp.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("data: "):
            payloads.append(line[len("data: ") :])
    return payloads


async def test_health(base_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/v1/health/") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body == {"version": "0.16.8", "status": "ok"}


async def test_create_agent_and_stream_one_reply(base_url: str) -> None:
    async with aiohttp.ClientSession(skip_auto_headers=NO_UA) as http:
        async with http.post(f"{base_url}/v1/agents/", json=agent_body()) as resp:
            assert resp.status == 200, await resp.text()
            agent: dict[str, Any] = await resp.json()
        assert agent["id"].startswith("agent-")

        request = {"messages": [{"role": "user", "content": "hi"}], "streaming": True}
        async with http.post(f"{base_url}/v1/agents/{agent['id']}/messages", json=request) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            payloads = await _read_sse(resp)

    assert payloads[-1] == "[DONE]"
    events = [json.loads(p) for p in payloads[:-1]]
    kinds = [e["message_type"] for e in events]
    assert kinds[0] == "ping"  # the server pings at once so the client learns the run id
    assistant = [e for e in events if e["message_type"] == "assistant_message"]
    assert [a["content"] for a in assistant] == [REPLY_TEXT]
    assert {"message_type": "stop_reason", "stop_reason": "end_turn"} in events
    assert kinds[-1] == "usage_statistics"
