"""The real background-run capture, cut into numbered blocks, and a server that replays it.

``background_stream.sse`` is what a Letta 0.16.8 server sent for one background run, and
``background_replay_full.sse`` what its ``POST /v1/runs/{id}/stream`` sent afterwards (the
two are byte-identical). Every frame of the run is numbered the way Letta numbers it: the
``seq_id`` when the frame carries one, else one more than the frame before (``stop_reason``,
``usage_statistics`` and ``[DONE]`` use up a number silently).

:class:`CaptureServer` serves many independent copies of that run at once: case ``k`` talks
to agent ``agent-cut-k`` and gets run ``run_for(k)``, the capture's run id with its last four
hex digits replaced by ``k`` (same length, so byte offsets stay those of the capture). That is
what lets one server and one client try thousands of cut points concurrently and still tell
every request apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability._rawhttp import Exchange, RawServer, Request

FIXTURES = Path(__file__).parent.parent / "fixtures"
LIVE = (FIXTURES / "background_stream.sse").read_bytes()
REPLAY = (FIXTURES / "background_replay_full.sse").read_bytes()
RUN = "run-92a0164b-8c60-49e2-859b-1b3ac5b2c43c"
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Server": "uvicorn"}
JSON_HEADERS = {"Content-Type": "application/json", "Server": "uvicorn"}


def numbered(body: bytes) -> list[tuple[int, bytes]]:
    """The SSE blocks of a capture (each with its blank line), with their sequence numbers."""
    out: list[tuple[int, bytes]] = []
    last = 0
    for block in body.split(b"\n\n"):
        if not block.strip():
            continue
        data = block.split(b"data: ", 1)[1]
        if data == b"[DONE]":
            last += 1
        else:
            seq = json.loads(data).get("seq_id")
            last = seq if seq is not None else last + 1
        out.append((last, block + b"\n\n"))
    return out


BEFORE_HEADERS = -1
BLOCKS = numbered(LIVE)
REPLAY_BLOCKS = numbered(REPLAY)
ENDS = [sum(len(b) for _, b in BLOCKS[: i + 1]) for i in range(len(BLOCKS))]
"""Byte offset just past each block."""
FIRST_PING_END = ENDS[0]


def run_for(case: int) -> str:
    return f"{RUN[:-4]}{case:04x}"


def agent_for(case: int) -> str:
    return f"agent-cut-{case}"


def case_of_agent(agent_id: str) -> int:
    return int(agent_id.rsplit("-", 1)[1])


def case_of_run(run_id: str) -> int:
    return int(run_id[-4:], 16)


def last_seq_before(offset: int) -> int:
    """The number of the last frame complete within the first ``offset`` bytes (0: none)."""
    last = 0
    for (seq, _), end in zip(BLOCKS, ENDS, strict=True):
        if end > offset:
            break
        last = seq
    return last


def replay_after(starting_after: int) -> bytes:
    """What ``POST /v1/runs/{id}/stream`` sends for ``starting_after``: the later blocks."""
    return b"".join(block for seq, block in REPLAY_BLOCKS if seq > starting_after)


def last_seq_in(body: bytes, offset: int) -> int | None:
    """The number of the last frame complete within ``body[:offset]`` (None: no frame)."""
    last = None
    end = 0
    for seq, block in numbered_replay(body):
        end += len(block)
        if end > offset:
            break
        last = seq
    return last


def numbered_replay(body: bytes) -> list[tuple[int, bytes]]:
    """Blocks of a replay body with their numbers, taken from the full replay's numbering."""
    numbers = {block: seq for seq, block in REPLAY_BLOCKS}
    return [(numbers[block + b"\n\n"], block + b"\n\n") for block in body.split(b"\n\n")[:-1]]


def expected_events(case: int) -> list[Any]:
    """The run's events as a caller must see them: every frame but ``[DONE]``, once, in order.

    Plain JSON (``json.loads``), not this client's decoder: compared through
    ``_tally.event_key``, a field the decoder loses shows up as a difference.
    """
    run = run_for(case).encode()
    return [
        json.loads(block.split(b"data: ", 1)[1].strip().replace(RUN.encode(), run))
        for _, block in BLOCKS
        if b"[DONE]" not in block
    ]


@dataclass
class CaptureServer:
    """Answers the message POST of case ``k`` with the capture cut at ``cut_of(k)`` bytes.

    ``cut_of`` returns ``None`` for "send the whole stream and end it properly", and
    :data:`BEFORE_HEADERS` for "start the run, then drop the connection unanswered". The resume
    route replays the capture after ``starting_after``; the history route returns the user
    message with the otid the case's POST carried, so a client that lost the stream before
    learning its run id can find the run (as a real server's message history allows).
    """

    cut_of: Callable[[int], int | None]
    resume_cut_of: Callable[[int], int | None] = lambda case: None
    """Where to cut a case's first resume response (``None``: never)."""
    server: RawServer = field(init=False)
    otids: dict[int, str] = field(default_factory=dict)
    resumed: set[int] = field(default_factory=set)
    cuts: int = 0

    def __post_init__(self) -> None:
        self.server = RawServer(self.handle)

    async def handle(self, request: Request, ex: Exchange) -> None:
        parts = request.path.strip("/").split("/")
        sends = request.method == "POST" and parts[3:] == ["messages", "stream"]
        if sends and parts[:2] == ["v1", "agents"]:
            case = case_of_agent(parts[2])
            self.otids[case] = request.json()["messages"][0]["otid"]
            body = LIVE.replace(RUN.encode(), run_for(case).encode())
            cut = self.cut_of(case)
            if cut == BEFORE_HEADERS:
                # The run started (its message is stored, with the otid), but the connection
                # died before the status line: the client cannot know the run id from us.
                self.cuts += 1
                await ex.cut()
                return
            await self._send(ex, body, cut)
        elif request.method == "GET" and parts[:2] == ["v1", "agents"]:
            case = case_of_agent(parts[2])
            item = {
                "id": "message-1",
                "date": "2026-11-22T02:01:12+00:00",
                "message_type": "user_message",
                "otid": self.otids.get(case),
                "run_id": run_for(case),
                "content": "hi [tool]",
            }
            payload = json.dumps([item]).encode()
            ex.head(200, JSON_HEADERS, length=len(payload))
            ex.raw(payload)
            ex.finish()
        elif request.method == "GET" and parts[:2] == ["v1", "runs"] and len(parts) == 3:
            # The run the lost send started: still going, as the server would say.
            case = case_of_run(parts[2])
            run = {"id": run_for(case), "status": "running", "agent_id": agent_for(case)}
            payload = json.dumps(run).encode()
            ex.head(200, JSON_HEADERS, length=len(payload))
            ex.raw(payload)
            ex.finish()
        elif request.method == "POST" and parts[:2] == ["v1", "runs"] and parts[3:] == ["stream"]:
            case = case_of_run(parts[2])
            after = int(request.json().get("starting_after", 0))
            body = replay_after(after).replace(RUN.encode(), run_for(case).encode())
            cut = None if case in self.resumed else self.resume_cut_of(case)
            self.resumed.add(case)
            await self._send(ex, body, cut)
        else:
            payload = b'{"detail":"Not Found"}'
            ex.head(404, JSON_HEADERS, length=len(payload))
            ex.raw(payload)
            ex.finish()

    async def _send(self, ex: Exchange, body: bytes, cut: int | None) -> None:
        """One SSE block per HTTP chunk, as uvicorn writes them; cut after ``cut`` bytes."""
        ex.head(200, SSE_HEADERS)
        data = body if cut is None else body[:cut]
        pieces = [block + b"\n\n" for block in data.split(b"\n\n")[:-1]]
        rest = len(data) - sum(len(p) for p in pieces)
        if rest:
            pieces.append(data[-rest:])
        for piece in pieces[:-1]:
            ex.chunk(piece)
        if pieces:
            last = pieces[-1]
            if cut is not None and cut < len(body) and not last.endswith(b"\n\n"):
                # The connection dies inside a chunk: its size line promised the whole block.
                whole = body[len(data) - len(last) :].split(b"\n\n", 1)[0] + b"\n\n"
                ex.chunk(last, declared=len(whole))
            else:
                ex.chunk(last)
        if cut is None:
            ex.finish()
            return
        self.cuts += 1
        await ex.cut()
