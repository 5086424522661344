"""A scripted OpenAI-compatible endpoint that stands in for the LLM behind the Letta server.

No real model is reachable from the test machines, and a real one would make replies (and
so the tests) non-deterministic. The Letta server is pointed here with
``OPENAI_BASE_URL=http://127.0.0.1:<port>/v1``; what this endpoint answers is chosen by
markers in the text of the conversation's last user message:

* nothing: a short plain-text reply;
* ``[tool]``: a ``conversation_search`` tool call; once the tool result is the newest
  message, the plain-text reply (so the agent makes two LLM steps);
* ``[delay=N]``: wait N seconds before answering (the server then emits keep-alive pings);
* ``[chunkdelay=F]``: wait F seconds between streamed chunks (keeps a run busy for cancels
  and disconnects);
* the word ``long`` (a request for a long answer, as in the README's cancel example): chunks
  ``LONG_CHUNKDELAY`` seconds apart unless ``[chunkdelay=F]`` says otherwise, so the reply
  takes a few seconds, as a real long answer would (a completion that is not streamed waits
  as long before it answers);
* ``[error500]``: answer HTTP 500;
* ``[midgarbage]``: stream 3 tokens, then a ``data:`` line that is not JSON;
* ``[drop]``: stream 3 tokens, then close the socket without finishing the response.

Every response carries ``Connection: close``: with kept-alive upstream connections Letta
0.16.8 sometimes stalls for 60 s after a non-streaming completion.

Run as a script: ``python fake_llm.py --port 0 --port-file PATH`` writes the bound port to
PATH once it listens (port 0 lets the OS pick a free one without a race).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import math
import os
import re
import struct
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MODEL_ID = "fake-model"
REPLY_TEXT = "Hello from the scripted test model."
AFTER_TOOL_TEXT = "I searched the conversation and found what I needed."
TOOL_NAME = "conversation_search"
EMBEDDING_DIM = 1536

_DELAY = re.compile(r"\[delay=(\d+(?:\.\d+)?)\]")
_CHUNKDELAY = re.compile(r"\[chunkdelay=(\d+(?:\.\d+)?)\]")
_LONG = re.compile(r"\blong\b", re.IGNORECASE)
LONG_CHUNKDELAY = 0.5


@dataclass(frozen=True)
class Script:
    """What one chat completion should do, read from the markers."""

    tool: bool = False
    delay: float = 0.0
    chunkdelay: float = 0.0
    error500: bool = False
    midgarbage: bool = False
    drop: bool = False

    @classmethod
    def from_text(cls, text: str) -> Script:
        delay = _DELAY.search(text)
        chunkdelay = _CHUNKDELAY.search(text)
        return cls(
            tool="[tool]" in text,
            delay=float(delay.group(1)) if delay else 0.0,
            chunkdelay=(
                float(chunkdelay.group(1))
                if chunkdelay
                else LONG_CHUNKDELAY
                if _LONG.search(text)
                else 0.0
            ),
            error500="[error500]" in text,
            midgarbage="[midgarbage]" in text,
            drop="[drop]" in text,
        )


def _text_of(content: Any) -> str:
    """A message's text, whether ``content`` is a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _tokens(text: str) -> list[str]:
    """Split into word-sized deltas that concatenate back to ``text``."""
    return re.findall(r"\S+\s*", text)


def _tool_arguments(tools: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Fill the tool's required parameters, so the call validates whatever the schema says."""
    for tool in tools:
        function = tool.get("function", {})
        if function.get("name") != name:
            continue
        params = function.get("parameters", {})
        props: dict[str, Any] = params.get("properties", {})
        # conversation_search requires nothing, but a query makes its return deterministic.
        args: dict[str, Any] = {"query": "hello"} if "query" in props else {}
        for key in params.get("required", []):
            kind = props.get(key, {}).get("type")
            if key == "query":
                args[key] = "hello"
            elif kind == "integer":
                args[key] = 1
            elif kind == "boolean":
                args[key] = False
            elif kind == "array":
                args[key] = []
            else:
                args[key] = "hello"
        return args
    return {"query": "hello"}


class FakeLLM:
    """The aiohttp application plus a little bookkeeping tests can read at ``/_stats``."""

    def __init__(self) -> None:
        self.chat_calls = 0
        self.embedding_calls = 0
        self.app = web.Application()
        self.app.router.add_get("/v1/models", self.models)
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.app.router.add_post("/v1/embeddings", self.embeddings)
        self.app.router.add_get("/_stats", self.stats)

    @staticmethod
    def _closing(resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["Connection"] = "close"
        resp.force_close()
        return resp

    def _json(self, body: Any, status: int = 200) -> web.StreamResponse:
        return self._closing(web.json_response(body, status=status))

    async def stats(self, request: web.Request) -> web.StreamResponse:
        return self._json({"chat_calls": self.chat_calls, "embedding_calls": self.embedding_calls})

    async def models(self, request: web.Request) -> web.StreamResponse:
        created = int(time.time())
        return self._json(
            {
                "object": "list",
                "data": [
                    {"id": MODEL_ID, "object": "model", "created": created, "owned_by": "e2e"}
                ],
            }
        )

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        """Deterministic unit vectors derived from the text, in either encoding the SDK asks for."""
        self.embedding_calls += 1
        body = await request.json()
        inputs = body.get("input", "")
        if isinstance(inputs, str) or (inputs and isinstance(inputs[0], int)):
            inputs = [inputs]
        dim = int(body.get("dimensions") or EMBEDDING_DIM)
        data = []
        for index, item in enumerate(inputs):
            vector = _embed(json.dumps(item), dim)
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{dim}f", *vector)
                embedding: Any = base64.b64encode(packed).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(json.dumps(item).split()) for item in inputs)
        return self._json(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", "text-embedding-3-small"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.chat_calls += 1
        body = await request.json()
        messages: list[dict[str, Any]] = body.get("messages", [])
        user_text = next(
            (_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"),
            "",
        )
        script = Script.from_text(user_text)
        after_tool = bool(messages) and messages[-1].get("role") == "tool"
        if script.delay:
            await asyncio.sleep(script.delay)
        if script.error500:
            return self._json(
                {
                    "error": {
                        "message": "scripted upstream failure",
                        "type": "server_error",
                        "code": None,
                        "param": None,
                    }
                },
                status=500,
            )
        tools: list[dict[str, Any]] = body.get("tools") or []
        tool_call: dict[str, Any] | None = None
        if script.tool and not after_tool:
            names = [t.get("function", {}).get("name") for t in tools]
            name = TOOL_NAME if TOOL_NAME in names or not names else str(names[0])
            tool_call = {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": json.dumps(_tool_arguments(tools, name)),
                },
            }
        text = AFTER_TOOL_TEXT if after_tool else REPLY_TEXT
        prompt_tokens = max(1, len(json.dumps(messages)) // 4)
        if body.get("stream"):
            return await self._stream(request, body, script, text, tool_call, prompt_tokens)
        if _LONG.search(user_text):
            # A long answer takes as long to complete as to stream: a step stream (which
            # Letta asks for without upstream streaming) stays busy for a cancel too.
            await asyncio.sleep(script.chunkdelay * len(_tokens(text)))
        return self._complete(body, text, tool_call, prompt_tokens)

    def _complete(
        self,
        body: dict[str, Any],
        text: str,
        tool_call: dict[str, Any] | None,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        message: dict[str, Any] = {"role": "assistant", "content": None if tool_call else text}
        if tool_call:
            message["tool_calls"] = [tool_call]
        completion_tokens = 8 if tool_call else len(_tokens(text))
        return self._json(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", MODEL_ID),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if tool_call else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        script: Script,
        text: str,
        tool_call: dict[str, Any] | None,
        prompt_tokens: int,
    ) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        self._closing(resp)
        await resp.prepare(request)
        chunk_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        model = body.get("model", MODEL_ID)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            payload = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                ],
            }
            return f"data: {json.dumps(payload)}\n\n".encode()

        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        if tool_call is not None:
            arguments = tool_call["function"]["arguments"]
            head = {
                "index": 0,
                "id": tool_call["id"],
                "type": "function",
                "function": {"name": tool_call["function"]["name"], "arguments": ""},
            }
            deltas.append({"tool_calls": [head]})
            half = len(arguments) // 2
            for part in (arguments[:half], arguments[half:]):
                deltas.append({"tool_calls": [{"index": 0, "function": {"arguments": part}}]})
        else:
            deltas.extend({"content": token} for token in _tokens(text))
        completion_tokens = len(deltas) - 1

        for sent, delta in enumerate(deltas):
            if sent and script.chunkdelay:
                await asyncio.sleep(script.chunkdelay)
            await resp.write(chunk(delta))
            if sent == 3 and (script.midgarbage or script.drop):
                if script.midgarbage:
                    await resp.write(b"data: {this is not json at all\n\n")
                    await resp.write_eof()
                    return resp
                # Abort mid-body: no terminating chunk, no [DONE], just a closed socket.
                if request.transport is not None:
                    request.transport.close()
                return resp
        finish = "tool_calls" if tool_call is not None else "stop"
        await resp.write(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
            await resp.write(f"data: {json.dumps(usage)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp


def _embed(text: str, dim: int) -> list[float]:
    """A unit vector seeded by the text's hash: equal texts embed equally, others differ."""
    values: list[float] = []
    counter = 0
    while len(values) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        counter += 1
    vector = values[:dim]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def _announce(port_file: str, port: int) -> None:
    """Write the port atomically, so a reader never sees an empty or partial file."""
    tmp = f"{port_file}.tmp"
    with open(tmp, "w") as out:
        out.write(str(port))
    os.replace(tmp, port_file)


async def serve(host: str, port: int, port_file: str | None) -> None:
    """Listen until cancelled; announce the bound port through ``port_file``."""
    fake = FakeLLM()
    runner = web.AppRunner(fake.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1])
    print(f"fake LLM listening on http://{host}:{bound}/v1", flush=True)
    if port_file:
        _announce(port_file, bound)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the fake LLM binds to loopback only")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.port_file))


if __name__ == "__main__":
    main()
