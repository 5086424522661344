"""Raw HTTP and SSE reading for the differential suite, and the normalisation of what it saw.

Both servers are read the same way: aiohttp with no User-Agent (so the real server's SDK gate
lets streaming through), SSE split into frames by hand, reads bounded in time. What
legitimately differs between two servers (generated ids, dates, the two scripted LLMs'
sentences and so their token counts, how many keep-alive pings fit in a silence) is replaced
or folded away; everything else is compared as it came.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = [
    "Frame",
    "IdMap",
    "SSERead",
    "Wire",
    "close",
    "frame_summary",
    "read_more",
    "summarise",
]

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_PREFIXED_ID = re.compile(rf"\b([a-z]+(?:[-_][a-z]+)*)-({_UUID})\b")
_BARE_UUID = re.compile(rf"\b{_UUID}\b")
_DATETIME_REPR = re.compile(r"datetime\.datetime\((?:[^()]|\([^()]*\))*\)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


class IdMap:
    """Generated ids become ``<prefix>#n``, numbered by first appearance.

    Numbering (instead of one placeholder for all) keeps identities: the same run seen in a
    stream and in a listing gets the same name on both servers only if it is the same run.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def name(self, prefix: str, raw: str) -> str:
        key = f"{prefix}-{raw}" if prefix else raw
        if key not in self._names:
            count = self._counts.get(prefix, 0) + 1
            self._counts[prefix] = count
            self._names[key] = f"<{prefix or 'uuid'}#{count}>"
        return self._names[key]

    def text(self, value: str) -> str:
        value = _PREFIXED_ID.sub(lambda m: self.name(m.group(1), m.group(2)), value)
        value = _BARE_UUID.sub(lambda m: self.name("", m.group(0)), value)
        value = _DATETIME_REPR.sub("<datetime>", value)
        return _DATE.sub("<date>", value)

    def json(self, value: Any) -> Any:
        """A JSON value with every id, uuid and date inside it replaced."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self.json(v) for k, v in value.items()}
        return value


@dataclass
class Frame:
    """One SSE event as sent: its ``event:`` name (if any) and its data line."""

    event: str | None
    data: str

    @property
    def json(self) -> Any:
        if self.data == "[DONE]":
            return None
        try:
            return json.loads(self.data)
        except ValueError:
            return None


@dataclass
class SSERead:
    """What a bounded read of an SSE response saw."""

    status: int
    content_type: str
    frames: list[Frame] = field(default_factory=list)
    ended: bool = True
    """False when the read stopped at its time bound with the stream still open."""
    body: Any = None
    """The JSON (or text) body when the answer was not a stream."""
    resp: aiohttp.ClientResponse | None = field(default=None, repr=False)
    buffer: str = field(default="", repr=False)


def frame_summary(frame: Frame) -> str:
    """The wire facts of one frame: type, ``seq_id`` (if the key is there), stop reason, error."""
    if frame.data == "[DONE]":
        return "[DONE]"
    data = frame.json
    if not isinstance(data, dict):
        return f"<not json: {frame.data[:40]!r}>"
    parts = []
    if frame.event is not None:
        parts.append(f"event:{frame.event}")
    parts.append(str(data.get("message_type")))
    if "seq_id" in data:
        parts.append(f"seq={data['seq_id']}")
    if "stop_reason" in data:
        parts.append(str(data["stop_reason"]))
    if "error_type" in data:
        parts.append(str(data["error_type"]))
    return " ".join(parts)


def summarise(
    frames: list[Frame], *, collapse: bool = True, count_blind: bool = False
) -> list[str]:
    """Frame summaries, with what depends on timing or on the scripted LLM folded away.

    * Runs of token deltas of one message (same type and id) fold into one line: the two
      scripted LLMs say different sentences, so the number of deltas differs. The line keeps
      the first ``seq_id`` and says whether the run's numbers were contiguous.
    * Keep-alive pings after the first frame (``seq_id`` null) are left out: how many fit in
      a silence is timing. The first frame is kept whatever it is (it names the run).
    * ``count_blind``: a message of one delta reads like one of several, for scenarios where
      timing decides how many deltas precede an event (a cancel).
    """
    out: list[str] = []
    last_key: tuple[str, str] | None = None
    seqs: list[Any] = []
    for index, frame in enumerate(frames):
        data = frame.json
        if (
            index > 0
            and isinstance(data, dict)
            and data.get("message_type") == "ping"
            and data.get("seq_id") is None
        ):
            continue
        key: tuple[str, str] | None = None
        if collapse and isinstance(data, dict) and data.get("message_type") != "ping":
            key = (str(data.get("message_type")), str(data.get("id")))
        line = frame_summary(frame)
        seq = data.get("seq_id") if isinstance(data, dict) else None
        if key is not None and key == last_key:
            seqs.append(seq)
            if seqs[0] is None:
                out[-1] = f"{out[-1].split(' ...')[0]} ...+"
            else:
                steps = {b - a for a, b in itertools.pairwise(seqs)}
                shape = "contiguous" if steps == {1} else "with gaps"
                out[-1] = f"{out[-1].split(' ...')[0]} ...+ (seq {shape})"
            continue
        last_key = key
        seqs = [seq]
        if count_blind and key is not None and data.get("message_type") != "stop_reason":
            line += " ...+" if seq is None else " ...+ (seq contiguous)"
        out.append(line)
    return out


def split_frames(raw: str) -> list[Frame]:
    frames = []
    for block in raw.split("\n\n"):
        if not block.strip():
            continue
        event = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        frames.append(Frame(event, "\n".join(data)))
    return frames


class Wire:
    """Raw requests to one server, as the captures were made: no User-Agent, JSON bodies."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request answered in JSON (or text); its status and decoded body."""
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        sent = {"Content-Type": "application/json", **(headers or {})}
        async with self.http.request(method, self.base_url + path, data=data, headers=sent) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except ValueError:
                return resp.status, text

    async def stream(
        self,
        path: str,
        body: Any,
        *,
        seconds: float = 60.0,
        until: Any = None,
    ) -> SSERead:
        """POST and read the SSE answer until it ends or ``seconds`` pass.

        ``until`` (a predicate on the frames so far) stops the read early, leaving the
        connection to be closed by the client; the scenario then does something mid-stream.
        """
        read = await self.open_stream(path, body)
        await read_more(read, seconds=seconds, until=until)
        return read

    async def open_stream(self, path: str, body: Any) -> SSERead:
        resp = await self.http.post(
            self.base_url + path,
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        ctype = resp.headers.get("Content-Type", "")
        read = SSERead(status=resp.status, content_type=ctype)
        if not ctype.startswith("text/event-stream"):
            text = await resp.text()
            resp.release()
            try:
                read.body = json.loads(text)
            except ValueError:
                read.body = text
            return read
        read.resp = resp
        read.ended = False
        return read


async def read_more(read: SSERead, *, seconds: float, until: Any = None) -> None:
    """Continue a read started by :meth:`Wire.open_stream` (see :meth:`Wire.stream`)."""
    resp = read.resp
    if resp is None or read.ended:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    buffer = read.buffer
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), remaining)
            except asyncio.TimeoutError:
                break
            if not chunk:
                read.ended = True
                break
            buffer += chunk.decode()
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                read.frames.extend(split_frames(block + "\n\n"))
                if until is not None and until(read.frames):
                    read.buffer = buffer
                    return
    except aiohttp.ClientPayloadError:
        read.ended = True
    read.buffer = buffer
    if read.ended:
        resp.release()


def close(read: SSERead) -> None:
    """Drop a stream's connection (a client walking away)."""
    resp = read.resp
    if resp is not None and not resp.closed:
        resp.close()
