"""Methods the official SDK marks deprecated are marked here the same way.

The official SDK decorates them with ``typing_extensions.deprecated``: a type checker reports
each call and a call emits a ``DeprecationWarning``. Which methods, and the message, come from
``tools/official_surface.json`` (recorded from the official SDK), not from this package.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from letta_async import AsyncLetta
from letta_async._resource import APIResource

from .test_typing_idioms import mypy_errors

SURFACE = Path(__file__).resolve().parent.parent / "tools" / "official_surface.json"


def official_deprecations() -> dict[str, str]:
    methods = json.loads(SURFACE.read_text())["methods"]
    return {m["path"]: m["deprecated"] for m in methods if "deprecated" in m}


def our_methods(client: AsyncLetta) -> dict[str, Any]:
    """Every public method reachable through the client's resources, by dotted path."""
    found: dict[str, Any] = {}

    def walk(resource: APIResource, prefix: str) -> None:
        for name in dir(type(resource)):
            if name.startswith(("_", "with_")):
                continue
            member = getattr(type(resource), name)
            value = getattr(resource, name)
            if isinstance(value, APIResource):
                walk(value, f"{prefix}{name}.")
            elif callable(member):
                found[prefix + name] = member

    for name in dir(type(client)):
        if not name.startswith("_") and isinstance(getattr(client, name, None), APIResource):
            walk(getattr(client, name), f"{name}.")
    return found


def test_the_official_sdk_deprecates_agents_messages_stream() -> None:
    # The record itself: if a new SDK version deprecates more, the comparison below covers it.
    assert official_deprecations() == {"agents.messages.stream": "deprecated"}


def test_exactly_the_official_deprecations_are_marked() -> None:
    client = AsyncLetta(base_url="http://127.0.0.1:9", api_key="k")
    marked = {
        path: method.__deprecated__
        for path, method in our_methods(client).items()
        if hasattr(method, "__deprecated__")
    }
    assert marked == official_deprecations()


@pytest.mark.anyio
async def test_calling_a_deprecated_method_warns_at_the_caller() -> None:
    async with AsyncLetta(base_url="http://127.0.0.1:9", api_key="k") as client:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stream = client.agents.messages.stream("agent-1", input="hi")  # not sent yet
            raw = client.agents.messages.with_raw_response.stream("agent-1", input="hi")
            streaming = client.agents.messages.with_streaming_response.stream("a", input="hi")
        await stream.close()
        raw.close()  # a coroutine never awaited: nothing was sent
        streaming._start.close()  # type: ignore[attr-defined]
    assert [(w.category, str(w.message), w.filename) for w in caught] == [
        (DeprecationWarning, "deprecated", __file__)
    ] * 3


def test_the_package_itself_never_calls_it_with_the_warning() -> None:
    unsent = AsyncLetta(base_url="http://127.0.0.1:9", api_key="k").agents.messages
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stream = unsent._unsent_stream("agent-1", input="hi")
    assert stream.run_id is None


GOOD = """
from letta_async import AsyncLetta


async def main() -> None:
    async with AsyncLetta() as client:
        stream = await client.agents.messages.create("agent-1", input="hi", streaming=True)
        async for chunk in stream:
            print(chunk.message_type)
"""

BAD = """
from letta_async import AsyncLetta


async def main() -> None:
    async with AsyncLetta() as client:
        stream = await client.agents.messages.stream("agent-1", input="hi")
        async for chunk in stream:
            print(chunk.message_type)
"""


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_reports_the_deprecated_call_as_for_the_official_sdk(tmp_path: Path) -> None:
    good, bad = mypy_errors(tmp_path, GOOD, BAD, "--enable-error-code", "deprecated")
    assert good == [], "\n".join(good)
    # The official SDK's report reads the same up to the class path:
    # "function ...AsyncMessagesResource.stream is deprecated: deprecated  [deprecated]".
    assert len(bad) == 1, "\n".join(bad)
    assert bad[0].startswith("bad.py:7: error: function ")
    assert bad[0].endswith(".stream is deprecated: deprecated  [deprecated]")
