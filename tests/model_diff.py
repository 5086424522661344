"""Reading one server answer with this client and comparing it with the official reading.

The official side is a tree recorded by ``tools/record_official_models.py`` (every model as
its official import path and its attributes). Here the same call runs against this client
on a loopback server that answers with the same bytes, and :func:`differences` lists where
what a program sees differs. Shared by the capture comparison (``test_official_models.py``)
and the end-to-end one over everything the migration corpus received from a real server.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from aiohttp import web

import letta_async
from letta_async import AsyncLetta
from letta_async.testing import bind_free_port
from tools.model_calls import Call

__all__ = ["answering", "differences", "observe"]


@asynccontextmanager
async def answering(status: int, headers: list[tuple[str, str]], body: bytes) -> AsyncIterator[str]:
    """A loopback server answering every request with these bytes; yields its URL."""

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
    try:
        sock = bind_free_port()
        await web.SockSite(runner, sock).start()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


async def observe(call: Call, base_url: str) -> Any:
    """What a program sees: the value, the page's items, or the stream's events (and error)."""
    seen: list[Any] = []
    async with AsyncLetta(base_url=base_url, api_key="k", max_retries=0) as client:
        try:
            result = await eval(call.expression, {"client": client})
            if call.kind == "page":
                return list(result._get_page_items())
            if call.kind == "stream":
                async for chunk in result:
                    seen.append(chunk)
                return seen
            return result
        except letta_async.LettaError as exc:
            return [*seen, exc] if call.kind == "stream" else exc


def differences(official: Any, ours: Any) -> list[str]:
    """Each place where ours differs from the official tree, as "path: what differs"."""
    out: list[str] = []
    # An error is compared by the official class a program catches: ours may be a subclass.
    official_error = _raised(official)
    our_error = ours if isinstance(ours, Exception) else None
    if isinstance(ours, list) and ours and isinstance(ours[-1], Exception):
        our_error, ours = ours[-1], ours[:-1]
    if official_error is not None:
        official = official[:-1] if isinstance(official, list) else None
        caught = getattr(letta_async, official_error)
        if not isinstance(our_error, caught):
            out.append(f"result: official raises {official_error}, ours {our_error!r}")
    elif our_error is not None:
        out.append(f"result: ours raises {type(our_error).__name__}")
    if official is not None:
        _compare(official, ours, "result", out)
    return sorted(out)


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
