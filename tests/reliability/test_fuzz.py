"""Property tests where the decoder and message tests stop: a whole stream, end to end.

``tests/test_sse_conformance.py`` covers random bytes and any chunking for the SSE decoder
alone, and ``tests/test_decode.py`` random JSON for the message decoder alone. Here:

* random *valid* event streams, encoded to SSE text with every legal variation (CR, LF and
  CRLF line ends, comments, unknown fields, a BOM, ``data:`` with and without its space),
  decode back to exactly the events they were made from, however they are split;
* the whole path bytes -> SSE -> message decoding inside :class:`MessageStream`: random frame
  sequences (real captured frames, mutated ones, unknown kinds, broken JSON) give the caller
  the same events and the same error whatever the chunking, first with chunk boundaries
  placed exactly (a scripted response), then through a loopback server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import yarl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from letta_async import (
    AsyncLetta,
    EventTooLargeError,
    LineTooLongError,
    MessageDecodeError,
    MessageStream,
    StreamError,
    StreamTruncatedError,
)
from letta_async._decode import MessageDecoder
from letta_async.sse import ServerSentEvent, SSEDecoder
from letta_async.types import LettaErrorMessage
from tests.reliability._captures import FIXTURES, SSE_HEADERS
from tests.reliability._rawhttp import Exchange, RawServer, Request
from tests.reliability._tally import TALLY, event_key

pytestmark = pytest.mark.anyio

_decoder = MessageDecoder()


def split_at(data: bytes, cuts: Sequence[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c for c in cuts if 0 < c < len(data))})
    return [data[a:b] for a, b in itertools.pairwise(points)]


# --- SSE: valid streams round-trip -------------------------------------------------------

_no_breaks = st.characters(codec="utf-8", exclude_characters="\r\n")
_names = st.text(_no_breaks, max_size=8)
_ids = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=8)
_data = st.lists(st.text(_no_breaks, max_size=12), min_size=1, max_size=4).map("\n".join)


@dataclass
class Block:
    event: str | None
    data: str
    id: str | None
    retry: int | None


_blocks = st.builds(
    Block,
    event=st.none() | _names,
    data=_data,
    id=st.none() | _ids,
    retry=st.none() | st.integers(0, 2**64 - 1),
)


@st.composite
def encoded_streams(draw: st.DrawFn) -> tuple[bytes, list[Block]]:
    """SSE text for a list of blocks, with every variation the spec allows."""
    blocks = draw(st.lists(_blocks, max_size=6))
    lines: list[str] = []
    for block in blocks:
        fields = []
        for line in block.data.split("\n"):
            spaced = line.startswith(" ") or draw(st.booleans())
            fields.append(f"data: {line}" if spaced else f"data:{line}")
        extras = []
        if block.event is not None:
            extras.append(f"event: {block.event}")
        if block.id is not None:
            extras.append(f"id: {block.id}")
        if block.retry is not None:
            extras.append(f"retry: {block.retry}")
        if draw(st.booleans()):
            extras.append(": " + draw(st.text(_no_breaks, max_size=6)))
        if draw(st.booleans()):
            extras.append("x-unknown: ignored")
        for extra in extras:
            fields.insert(draw(st.integers(0, len(fields))), extra)
        lines += [*fields, ""]
    out = ["\ufeff"] if draw(st.booleans()) else []
    previous = ""
    for line in lines:
        ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        if previous == "\r" and line == "" and ending == "\n":
            ending = "\r"  # "\r" + "\n" would be read as one CRLF, swallowing this blank line
        out += [line, ending]
        previous = ending
    return "".join(out).encode("utf-8"), blocks


def expected_sse(blocks: list[Block]) -> tuple[list[ServerSentEvent], str | None, int | None]:
    events = []
    last_id: str | None = None
    retry: int | None = None
    for block in blocks:
        if block.id is not None:
            last_id = block.id
        if block.retry is not None:
            retry = block.retry
        events.append(ServerSentEvent(block.event or "message", block.data, last_id, block.retry))
    return events, last_id, retry


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(encoded_streams(), st.lists(st.integers(0, 10_000), max_size=12))
def test_valid_streams_round_trip_whatever_the_split(
    stream: tuple[bytes, list[Block]], cuts: list[int]
) -> None:
    body, blocks = stream
    events, last_id, retry = expected_sse(blocks)
    for pieces in (
        [body],
        split_at(body, cuts),
        [body[i : i + 1] for i in range(len(body))],
    ):
        decoder = SSEDecoder()
        got = [event for piece in pieces for event in decoder.feed(piece)]
        assert got == events
        assert decoder.last_event_id == last_id
        assert decoder.retry == retry
        assert not decoder.pending
        assert decoder.close() == []
    TALLY.case("fuzz: SSE round trip")
    TALLY.compare("fuzz: SSE round trip", [repr(e) for e in events], [repr(e) for e in got])


# --- frames through MessageStream -----------------------------------------------------------


def _captured_frames() -> list[dict[str, Any]]:
    out = []
    for path in sorted(FIXTURES.glob("*.sse")):
        for line in path.read_bytes().split(b"\n"):
            if line.startswith(b"data: {"):
                out.append(json.loads(line[6:]))
    return out


CAPTURED = _captured_frames()
END_TURN = b'{"message_type":"stop_reason","stop_reason":"end_turn"}'
_json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=6)


@st.composite
def frame_payloads(draw: st.DrawFn) -> bytes:
    """One frame's data: mostly real frames, mutated; sometimes unknown or broken."""
    kind = draw(st.sampled_from(["real", "real", "mutated", "unknown", "broken", "not-object"]))
    if kind == "broken":
        return draw(st.sampled_from([b"{", b'{"message_type": "assistant_message"', b"nul", b""]))
    if kind == "not-object":
        return json.dumps(draw(st.lists(_json_scalars, max_size=3) | _json_scalars)).encode()
    frame = dict(draw(st.sampled_from(CAPTURED)))
    if kind == "mutated":
        for key in draw(st.lists(st.sampled_from(sorted(frame)), max_size=2)):
            if key != "message_type":
                frame[key] = draw(_json_scalars)
        if "seq_id" in frame and draw(st.booleans()):
            frame["seq_id"] = draw(st.integers(0, 5))
    elif kind == "unknown":
        frame["message_type"] = draw(st.sampled_from(["future_message", "", "x"]))
    return json.dumps(frame).encode()


@st.composite
def frame_streams(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    payloads = draw(st.lists(frame_payloads(), max_size=10))
    body = b"".join(b"data: " + p + b"\n\n" for p in payloads)
    body += b"data: " + END_TURN + b"\n\ndata: [DONE]\n\n"
    return body, payloads


def reference(
    payloads: list[bytes], *, errors_as_events: bool = False
) -> tuple[list[bytes], type[Exception] | None]:
    """What a caller must see: every frame decoded in order, up to the first bad one.

    By default an error frame is raised as ``StreamError`` after the frames before it, and
    nothing after it is read; with ``errors_as_events`` it is an event like the others.
    """
    events: list[bytes] = []
    for payload in payloads:
        try:
            event = _decoder.decode(payload.decode("utf-8", "replace"))
        except MessageDecodeError:
            return events, MessageDecodeError
        if isinstance(event, LettaErrorMessage) and not errors_as_events:
            return events, StreamError
        events.append(event_key(event))
    events.append(event_key(_decoder.decode(END_TURN)))
    return events, None


class _ScriptedContent:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = deque(chunks)

    async def readany(self) -> bytes:
        await asyncio.sleep(0)
        return self._chunks.popleft() if self._chunks else b""


class _ScriptedResponse:
    """Just enough of an aiohttp response for MessageStream, with exact read boundaries."""

    method = "POST"
    url = yarl.URL("http://127.0.0.1/scripted")
    status = 200
    reason = "OK"
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "text/event-stream"}))

    def __init__(self, chunks: list[bytes]) -> None:
        self.content = _ScriptedContent(chunks)
        self.closed = False

    def release(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


async def consume(stream: MessageStream) -> tuple[list[bytes], type[Exception] | None]:
    events: list[bytes] = []
    try:
        async for event in stream:
            events.append(event_key(event))
    except (
        MessageDecodeError,
        EventTooLargeError,
        LineTooLongError,
        StreamTruncatedError,
        StreamError,
    ) as exc:
        return events, type(exc)
    return events, None


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frame_streams(), st.lists(st.integers(0, 20_000), max_size=8), st.booleans())
async def test_message_stream_gives_the_same_events_and_error_however_the_bytes_are_split(
    stream: tuple[bytes, list[bytes]], cuts: list[int], errors_as_events: bool
) -> None:
    body, payloads = stream
    want = reference(payloads, errors_as_events=errors_as_events)
    transport = AsyncLetta("http://127.0.0.1:9")._transport
    for pieces in ([body], split_at(body, cuts), [body[i : i + 1] for i in range(len(body))]):
        response = _ScriptedResponse(pieces)

        async def opener(_: MessageStream, response: _ScriptedResponse = response) -> Any:
            return response

        got = await consume(
            MessageStream(transport, opener, background=False, errors_as_events=errors_as_events)
        )
        assert got == want
        assert response.closed, "the response is always released or closed"
    TALLY.case("fuzz: bytes->events")
    TALLY.compare("fuzz: bytes->events", want[0], got[0])


@pytest.fixture
async def frames_server(serve: Any) -> RawServer:
    """Serves whatever body the current example put in ``server.body``, in random pieces."""
    state: dict[str, Any] = {"body": b"", "rng": random.Random(0)}

    async def handler(request: Request, ex: Exchange) -> None:
        body: bytes = state["body"]
        rng: random.Random = state["rng"]
        ex.head(200, SSE_HEADERS)
        cuts = sorted(rng.sample(range(1, max(len(body), 2)), min(6, max(len(body) - 1, 0))))
        for piece in split_at(body, cuts):
            ex.chunk(piece)
            # A pause lets the client read this piece on its own, so reads split there.
            await asyncio.sleep(0.0005)
        ex.finish()

    server: RawServer = await serve(handler)
    server.state = state  # type: ignore[attr-defined]
    return server


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frame_streams(), st.integers(0, 2**32))
async def test_frames_through_a_loopback_server_reach_the_caller_intact(
    frames_server: RawServer, stream: tuple[bytes, list[bytes]], seed: int
) -> None:
    body, payloads = stream
    frames_server.state.update(body=body, rng=random.Random(seed))  # type: ignore[attr-defined]
    want = reference(payloads)
    async with AsyncLetta(frames_server.base_url) as client:
        messages = [{"role": "user", "content": "hi"}]
        got = await consume(client.agents.messages.stream("agent-fuzz", messages=messages))
        session = client.session
        assert session is not None and session.connector is not None
        assert not session.connector._acquired  # type: ignore[attr-defined]
    assert got == want
    TALLY.case("fuzz: loopback")
    TALLY.compare("fuzz: loopback", want[0], got[0])


def test_the_long_run_fuzz_target_still_works() -> None:
    """The atheris target is not run here, but its check must not rot: a short smoke run."""
    from tests.reliability import fuzz_stream

    for path in sorted(FIXTURES.glob("*.sse")):
        fuzz_stream.check_input(b"\x07\x00" + path.read_bytes())
        fuzz_stream.check_input(b"\x00\x01" + path.read_bytes())
    fuzz_stream._smoke(300)
    TALLY.case("fuzz: atheris target smoke", 300)
