"""A Letta look-alike for the loopback benchmarks: fixed bodies, real framing, nothing else.

It answers the routes the benchmarks call, with the wire format of a real Letta server
(uvicorn's headers, a chunked ``text/event-stream`` body, ``data: <json>`` frames) and no
work per request beyond writing prepared bytes, so that the figures measure the clients:

- ``POST /v1/agents/{agent_id}/messages`` (letta-async, ``streaming: true`` in the body) and
  ``POST /v1/agents/{agent_id}/messages/stream`` (the official SDK's route): an SSE body.
  There is no SDK gate here; which body is sent is read off the agent id, so that both
  clients can ask for any scenario through their ordinary ``stream(agent_id, ...)`` call:

  - ``agent-ev{N}-{write}``: the ``corpus.py`` token stream of N message frames + ``[DONE]``;
  - ``agent-big{B}-{write}``: one assistant message of B bytes of JSON + ``[DONE]``;

  where ``{write}`` is ``frame`` (one SSE frame per write, as the real server does with
  token streaming) or ``{K}k`` (the body cut into K KiB writes).
- ``GET /v1/runs/{run_id}``: a run as ``GET /v1/runs/{id}`` returns it (about 650 bytes).
- ``GET /v1/agents/{agent_id}/messages``: a page of 20 messages (user, tool call, tool return,
  assistant, five times over; about 9 KB), as the history listing returns them.
- ``POST /v1/blocks/``: the request body is read, and a created block is answered (about 600
  bytes), as ``client.blocks.create(...)`` gets it.

Bodies are built on first use and cached, so building them is never timed. Run as a script,
it listens on a free port of 127.0.0.1, prints ``PORT <n>``, and exits when its stdin closes
(see ``harness.ServerProcess``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import threading
from pathlib import Path

from aiohttp import web

from letta_async.testing import bind_free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import build_corpus, build_large_event
from harness import raise_nofile_limit

# What uvicorn sends in front of a Letta stream (see tests/fixtures/_captures.json); aiohttp
# adds Date and Transfer-Encoding: chunked itself, as uvicorn does.
SSE_HEADERS = {
    "Server": "uvicorn",
    "Content-Type": "text/event-stream; charset=utf-8",
    "Vary": "Origin",
}
JSON_HEADERS = {"Server": "uvicorn", "Content-Type": "application/json", "Vary": "Origin"}

_SCENARIO = re.compile(r"agent-(ev|big)(\d+)-(frame|\d+k)")
_MAX_EVENTS = 1_000_000
_MAX_BIG = 64 * 1024 * 1024
_HIGH_WATER = 1024 * 1024


def run_body(run_id: str) -> bytes:
    """A finished background run, field for field as the real server returns it."""
    return json.dumps(
        {
            "id": run_id,
            "status": "completed",
            "created_at": "2026-11-22T02:01:56.838099Z",
            "completed_at": "2026-11-22T02:01:57.287790",
            "agent_id": "agent-b05cfaca-a5c5-4c77-9066-a0c1994b3f13",
            "conversation_id": None,
            "base_template_id": None,
            "background": True,
            "metadata": {"run_type": "send_message_async", "lettuce": None},
            "request_config": {
                "use_assistant_message": True,
                "assistant_message_tool_name": "send_message",
                "assistant_message_tool_kwarg": "message",
                "include_return_message_types": None,
            },
            "stop_reason": "end_turn",
            "callback_url": None,
            "callback_sent_at": None,
            "callback_status_code": None,
            "callback_error": None,
            "ttft_ns": None,
            "total_duration_ns": None,
        },
        separators=(",", ":"),
    ).encode()


def message_page(agent_id: str, count: int = 20) -> bytes:
    """A history page of ``count`` messages, their fields as the real server writes them."""
    step = "step-e370e1b0-4915-4b67-abd5-df568678248e"
    run = "run-937c36dc-91e4-4b37-b5a9-5804b8441c77"
    search = (
        "{'message': 'Showing 2 results:', 'results': [{'timestamp': "
        "'2026-11-22T02:01:56.400393+00:00', 'time_ago': '0s ago', 'role': 'user', "
        "'relevance': {'search_mode': 'sql'}, 'content': 'hi [tool]'}, {'timestamp': "
        "'2026-11-22T02:01:56.122139+00:00', 'time_ago': '0s ago', 'role': 'assistant', "
        "'relevance': {'search_mode': 'sql'}, 'content': 'Hello! This is a scripted reply.'}]}"
    )
    call = {"name": "conversation_search", "arguments": '{"query": "hi"}'}
    messages: list[dict[str, object]] = []
    for i in range(count):
        common: dict[str, object] = {
            "id": f"message-{i:08x}-43c8-4ad4-9fe6-d2ab8a3c2b99",
            "date": "2026-11-22T02:01:57+00:00",
            "name": None,
            "message_type": "",
            "otid": f"{i:08x}-43c8-4ad4-9fe6-d2ab8a3c2b80",
            "sender_id": None,
            "step_id": step,
            "is_err": None,
            "seq_id": None,
            "run_id": run,
        }
        kind = i % 4
        if kind == 0:
            common.update(message_type="user_message", content=f"hi [tool] {agent_id} {i}")
        elif kind == 1:
            tool_call = {**call, "tool_call_id": f"call_fake{i:04d}"}
            common.update(
                message_type="tool_call_message", tool_call=tool_call, tool_calls=[tool_call]
            )
        elif kind == 2:
            common.update(
                message_type="tool_return_message",
                name="conversation_search",
                tool_return=search,
                status="success",
                tool_call_id=f"call_fake{i - 1:04d}",
                stdout=None,
                stderr=None,
                tool_returns=[
                    {
                        "type": "tool",
                        "tool_return": search,
                        "status": "success",
                        "tool_call_id": f"call_fake{i - 1:04d}",
                        "stdout": None,
                        "stderr": None,
                    }
                ],
            )
        else:
            common.update(
                message_type="assistant_message", content="Done with the tool; here is my answer."
            )
        messages.append(common)
    return json.dumps(messages, separators=(",", ":")).encode()


def block_body(label: str, value: str) -> bytes:
    """A created block, field for field as ``POST /v1/blocks/`` answers."""
    return json.dumps(
        {
            "value": value,
            "limit": 100000,
            "project_id": None,
            "template_name": None,
            "is_template": False,
            "template_id": None,
            "base_template_id": None,
            "deployment_id": None,
            "entity_id": None,
            "preserve_on_migration": False,
            "label": label,
            "read_only": False,
            "description": "The human block: Stores key details about the person you are "
            "conversing with, allowing for more personalized and friend-like conversation.",
            "metadata": {},
            "hidden": None,
            "id": "block-85118fc2-4d46-449c-ade1-05ec629dd8b9",
            "created_by_id": None,
            "last_updated_by_id": None,
            "tags": [],
        },
        separators=(",", ":"),
    ).encode()


class Bodies:
    """The prepared writes of each scenario, keyed by agent id."""

    def __init__(self) -> None:
        self._cache: dict[str, list[bytes]] = {}
        self._chunked: dict[int, list[bytes]] = {}

    def chunked(self, pieces: list[bytes]) -> list[bytes]:
        """Every piece after the first in HTTP/1.1 chunked framing, built once per body."""
        framed = self._chunked.get(id(pieces))
        if framed is None:
            framed = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces[1:]]
            self._chunked[id(pieces)] = framed
        return framed

    def get(self, agent_id: str) -> list[bytes] | None:
        pieces = self._cache.get(agent_id)
        if pieces is not None:
            return pieces
        match = _SCENARIO.fullmatch(agent_id)
        if match is None:
            return None
        kind, size, write = match.group(1), int(match.group(2)), match.group(3)
        if kind == "ev" and 2 <= size <= _MAX_EVENTS:
            body = build_corpus(size)
        elif kind == "big" and 1024 <= size <= _MAX_BIG:
            body = build_large_event(size)
        else:
            return None
        if write == "frame":
            pieces = [frame + b"\n\n" for frame in body.split(b"\n\n") if frame]
        else:
            step = int(write[:-1]) * 1024
            pieces = [body[i : i + step] for i in range(0, len(body), step)]
        self._cache[agent_id] = pieces
        self.chunked(pieces)
        return pieces


def create_app(bodies: Bodies) -> web.Application:
    runs: dict[str, bytes] = {}

    async def stream(request: web.Request) -> web.StreamResponse:
        pieces = bodies.get(request.match_info["agent_id"])
        await request.read()
        if pieces is None:
            return web.json_response({"detail": "Agent not found"}, status=404)
        response = web.StreamResponse(status=200, headers=SSE_HEADERS)
        await response.prepare(request)
        # The first piece goes through aiohttp, which sends the headers with it.
        await response.write(pieces[0])
        transport = request.transport
        if transport is None:
            return response
        for chunk in bodies.chunked(pieces):
            # One send per piece, as with response.write(), minus aiohttp's per-call
            # bookkeeping: with one frame per write that bookkeeping, not the client, would
            # otherwise set the pace.
            transport.write(chunk)
            if transport.get_write_buffer_size() > _HIGH_WATER:
                while transport.get_write_buffer_size() > _HIGH_WATER // 4:
                    if transport.is_closing():
                        return response
                    await asyncio.sleep(0.001)
        await response.write_eof()
        return response

    async def retrieve_run(request: web.Request) -> web.Response:
        run_id = request.match_info["run_id"]
        body = runs.get(run_id)
        if body is None:
            body = runs[run_id] = run_body(run_id)
        return web.Response(body=body, headers=JSON_HEADERS)

    pages: dict[str, bytes] = {}

    async def list_messages(request: web.Request) -> web.Response:
        agent_id = request.match_info["agent_id"]
        body = pages.get(agent_id)
        if body is None:
            body = pages[agent_id] = message_page(agent_id)
        return web.Response(body=body, headers=JSON_HEADERS)

    blocks: dict[bytes, bytes] = {}

    async def create_block(request: web.Request) -> web.Response:
        sent = await request.read()
        body = blocks.get(sent)
        if body is None:
            fields = json.loads(sent)
            body = blocks[sent] = block_body(str(fields["label"]), str(fields["value"]))
        return web.Response(body=body, headers=JSON_HEADERS)

    app = web.Application()
    app.router.add_get("/v1/agents/{agent_id}/messages", list_messages)
    app.router.add_post("/v1/blocks/", create_block)
    app.router.add_post("/v1/agents/{agent_id}/messages", stream)
    app.router.add_post("/v1/agents/{agent_id}/messages/stream", stream)
    app.router.add_get("/v1/runs/{run_id}", retrieve_run)
    return app


async def serve(backlog: int, warm: list[str]) -> None:
    raise_nofile_limit()
    bodies = Bodies()
    for agent_id in warm:
        bodies.get(agent_id)
    app = create_app(bodies)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # Below the ephemeral range, where no outgoing connection can take the port.
    sock = bind_free_port("127.0.0.1")
    # The listen backlog must hold a burst of 1,000 connects (the kernel caps it at somaxconn).
    site = web.SockSite(runner, sock, backlog=backlog)
    await site.start()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def wait_for_stdin_eof() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_for_stdin_eof, daemon=True).start()
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--warm", nargs="*", default=[], help="agent ids to build up front")
    args = parser.parse_args()
    asyncio.run(serve(args.backlog, args.warm))


if __name__ == "__main__":
    main()
