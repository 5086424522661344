"""Every captured answer reads the same, field by field, as through the official SDK.

``tests/fixtures/official_models.json`` was written by ``tools/record_official_models.py``
with ``letta-client`` 1.12.1: for each successful capture, the public call a program makes
for it (``tools/model_calls.py``) and what the program then sees, attribute by attribute,
with the class name of every nested model. Here the same call runs against this client on a
loopback server answering with the same bytes, and the two trees are compared: class names,
attribute values, list lengths, datetimes, dict keys. Nothing expected comes from this
client's code.

The few places where the two differ on purpose are listed in :data:`DIFFERENCES` with the
reason; the test fails on any other difference and on a listed one that has gone away.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

import letta_async
from letta_async import AsyncLetta
from letta_async.testing import bind_free_port
from tools.model_calls import CALLS, capture

pytestmark = pytest.mark.anyio

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "official_models.json").read_text(encoding="utf-8")
)

_CUT = (
    "the capture ends where the recording client hung up, without a stop reason: the official "
    "stream ends quietly, this client reports the cut with a typed APIConnectionError "
    "(after resuming, for a background run) instead of passing it off as a complete answer"
)
_TOOL_CALL = "a complete tool call still decodes as the streaming delta class here"

# capture -> the differences it shows, each "path: what differs", with the reason.
DIFFERENCES: dict[str, dict[str, str]] = {
    "background_resume_part1.sse": {"result: ours raises StreamResumeError": _CUT},
    "foreground_disconnect_part.sse": {"result: ours raises StreamTruncatedError": _CUT},
    # The loopback answers the resume with the same pings again, as long as it is asked.
    "runs_stream_async_run.sse": {
        "result: 3 items officially, 18 here": _CUT,
        "result: ours raises StreamResumeError": _CUT,
    },
    **{
        name: {
            f"{where}.tool_call: official agents.tool_call.ToolCall, ours ToolCallDelta": _TOOL_CALL
        }
        for name, where in [
            ("messages_list_asc_page2.json", "result[2]"),
            ("messages_list_desc_page1.json", "result[1]"),
            ("messages_list_desc_page2.json", "result[1]"),
            ("nonstream_tool_response.json", "result.messages[0]"),
            ("run_messages.json", "result[1]"),
            ("stream_steps_tool.sse", "result[1]"),
        ]
    },
}


def test_the_record_comes_from_the_official_sdk_and_covers_every_capture_call() -> None:
    assert RECORDED["source"] == "letta-client 1.12.1"
    assert set(RECORDED) - {"source"} == set(CALLS)
    assert len(CALLS) >= 60


def _compare(official: Any, ours: Any, path: str, out: list[str]) -> None:
    if isinstance(official, dict) and "__raises__" in official:
        out.append(f"{path}: official raises {official['__raises__']}, ours gives {ours!r:.80}")
    elif isinstance(official, dict) and official.get("__class__") in ("datetime", "date"):
        if not isinstance(ours, dt.date) or ours.isoformat() != official["iso"]:
            out.append(f"{path}: official {official['iso']}, ours {ours!r}")
    elif isinstance(official, dict) and official.get("__class__") == "dict":
        if not isinstance(ours, dict):
            out.append(f"{path}: official dict, ours {type(ours).__name__}")
            return
        keys = set(official) - {"__class__"}
        # A model read back as a plain dict names every field; the server may have left
        # some out, which reads as None either way.
        extra = {key for key in set(ours) - keys if ours[key] is not None}
        if extra or keys - set(ours):
            out.append(f"{path}: keys official {sorted(keys)}, ours {sorted(ours)}")
        for key in sorted(keys & set(ours)):
            _compare(official[key], ours[key], f"{path}[{key!r}]", out)
    elif isinstance(official, dict):
        name = official["__class__"]
        if not isinstance(ours, _at_official_path(name)):
            out.append(f"{path}: official {name}, ours {type(ours).__name__}")
        for field, value in official.items():
            if field == "__class__":
                continue
            if not hasattr(ours, field):
                out.append(f"{path}.{field}: missing here")
                continue
            _compare(value, getattr(ours, field), f"{path}.{field}", out)
    elif isinstance(official, list):
        if not isinstance(ours, list | tuple):
            out.append(f"{path}: official list, ours {type(ours).__name__}")
            return
        if len(official) != len(ours):
            out.append(f"{path}: {len(official)} items officially, {len(ours)} here")
        for index, (left, right) in enumerate(zip(official, ours, strict=False)):
            _compare(left, right, f"{path}[{index}]", out)
    else:
        if isinstance(ours, msgspec.Struct) or ours != official:
            out.append(f"{path}: official {official!r:.80}, ours {ours!r:.80}")


def _at_official_path(path: str) -> type[Any]:
    """The class a program gets by importing the official path from this package."""
    module, _, name = path.rpartition(".")
    found = getattr(importlib.import_module(f"letta_async.types.{module}".rstrip(".")), name)
    assert isinstance(found, type), path
    return found


def _raised(official: Any) -> str | None:
    if isinstance(official, list) and official and "__raises__" in official[-1]:
        return str(official[-1]["__raises__"])
    if isinstance(official, dict) and "__raises__" in official:
        return str(official["__raises__"])
    return None


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(name: str) -> str:
        status, headers, body = capture(name)

        async def answer(request: web.Request) -> web.Response:
            await request.read()
            response = web.Response(status=status, body=body)
            for key, value in headers:
                response.headers[key] = value
            return response

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        sock = bind_free_port()
        await web.SockSite(runner, sock).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


async def _observe(name: str, base_url: str) -> Any:
    call = CALLS[name]
    seen: list[Any] = []
    async with AsyncLetta(base_url=base_url, api_key="k", max_retries=0) as client:
        try:
            result = await eval(call.expression, {"client": client})
            if call.kind == "page":
                return list(result.items)
            if call.kind == "stream":
                async for chunk in result:
                    seen.append(chunk)
                return seen
            return result
        except letta_async.LettaError as exc:
            return [*seen, exc] if call.kind == "stream" else exc


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_a_capture_reads_as_through_the_official_sdk(
    name: str, serve: Callable[[str], Awaitable[str]]
) -> None:
    ours = await _observe(name, await serve(name))
    official = RECORDED[name]
    differences: list[str] = []
    # An error is compared by the official class a program catches: ours may be a subclass.
    official_error = _raised(official)
    our_error = ours if isinstance(ours, Exception) else None
    if isinstance(ours, list) and ours and isinstance(ours[-1], Exception):
        our_error, ours = ours[-1], ours[:-1]
    if official_error is not None:
        official = official[:-1] if isinstance(official, list) else None
        caught = getattr(letta_async, official_error)
        if not isinstance(our_error, caught):
            differences.append(f"result: official raises {official_error}, ours {our_error!r}")
    elif our_error is not None:
        differences.append(f"result: ours raises {type(our_error).__name__}")
    if official is not None:
        _compare(official, ours, "result", differences)
    expected = DIFFERENCES.get(name, {})
    assert sorted(differences) == sorted(expected), "\n".join(sorted(differences))
