"""A realistic Letta token stream, generated reproducibly, for the decode benchmarks.

The frames copy the shape of the real server captures in ``tests/fixtures`` field for field
(same keys, same order, compact JSON, LF line ends, ``data: <json>`` + blank line): a long
background run of many steps, each step streaming reasoning fragments, then either a tool
call whose arguments arrive in fragments followed by the tool's return, or the assistant's
reply in fragments. Frames of one streamed message share ``id``/``otid`` and carry a few
characters each, as token streaming does; pings arrive now and then; the run ends with
``stop_reason``, ``usage_statistics`` and ``[DONE]``.

Generating rather than checking in a file keeps the repository small and lets the size vary;
a fixed seed keeps every run byte-identical.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["DEFAULT_EVENTS", "build_corpus", "build_large_event", "iter_frames"]

DEFAULT_EVENTS = 20_000
"""Message frames in the default corpus (the final ``[DONE]`` comes on top)."""

_TEXT = (
    "the user wants to know how the memory blocks work so I should explain core memory "
    "archival memory and recall memory in simple terms and then offer an example of each "
    "one while keeping the answer short friendly and accurate because they are new here "
    "let me search the conversation history first to see what we discussed yesterday"
)
_WORDS = tuple(_TEXT.split(" "))

_TOOLS = ("conversation_search", "archival_memory_search", "core_memory_append", "web_search")

_START = datetime(2026, 11, 22, 2, 0, 0, tzinfo=timezone.utc)


def _dumps(obj: dict[str, Any]) -> bytes:
    # The server's own encoding: compact separators, ASCII-only output.
    return json.dumps(obj, separators=(",", ":")).encode()


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


class _Run:
    """State shared by the frames of one run: ids, clock, sequence numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.run_id = f"run-{self.uuid()}"
        self.seq = 0
        self.clock = _START
        self.calls = 0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def envelope(
        self, kind: str, message_id: str, otid: str | None, step: str | None
    ) -> dict[str, Any]:
        """The fields every message frame starts with; ``seq_id`` is set by :meth:`emit`."""
        if self.rng.random() < 0.02:
            self.clock += timedelta(seconds=1)
        return {
            "id": message_id,
            "date": self.clock.isoformat(),
            "name": None,
            "message_type": kind,
            "otid": otid,
            "sender_id": None,
            "step_id": step,
            "is_err": None,
            "seq_id": None,
            "run_id": self.run_id,
        }

    def emit(self, frame: dict[str, Any]) -> bytes:
        """Number a frame as it goes out, so ``seq_id`` rises in wire order.

        Frames are built ahead of the point where a ping may be slipped in between them;
        numbering at build time would give the ping a higher number than the frame after it,
        which a client that drops replayed frames (``seq_id`` at or below the last) must
        treat as a duplicate.
        """
        self.seq += 1
        frame["seq_id"] = self.seq
        return _frame(frame)

    def fragments(self, count: int) -> list[str]:
        """``count`` short text deltas, as a tokenizer would cut a sentence."""
        text = " ".join(self.rng.choice(_WORDS) for _ in range(count * 2))
        cuts = sorted(self.rng.sample(range(1, len(text)), count - 1)) if count > 1 else []
        return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]

    def ping(self) -> dict[str, Any]:
        return self.envelope("ping", f"ping-{self.uuid()}", None, None)

    def reasoning(
        self, message_id: str, otid: str, step: str, count: int
    ) -> Iterator[dict[str, Any]]:
        for delta in self.fragments(count):
            frame = self.envelope("reasoning_message", message_id, otid, step)
            frame.update(source="non_reasoner_model", reasoning=delta, signature=None)
            yield frame

    def assistant(
        self, message_id: str, otid: str, step: str, count: int
    ) -> Iterator[dict[str, Any]]:
        for delta in self.fragments(count):
            frame = self.envelope("assistant_message", message_id, otid, step)
            frame["content"] = delta
            yield frame

    def tool_call(self, step: str, count: int) -> Iterator[dict[str, Any]]:
        self.calls += 1
        message_id = f"message-{self.uuid()}"
        otid = message_id[len("message-") : -2] + "80"
        call_id = f"call_{self.calls:08x}"
        name = self.rng.choice(_TOOLS)
        opening = {"name": name, "tool_call_id": call_id}
        frame = self.envelope("tool_call_message", message_id, otid, step)
        frame.update(tool_call=opening, tool_calls=opening)
        yield frame
        arguments = json.dumps({"query": " ".join(self.rng.choice(_WORDS) for _ in range(count))})
        step_size = max(1, len(arguments) // count)
        for start in range(0, len(arguments), step_size):
            delta = {"arguments": arguments[start : start + step_size], "tool_call_id": call_id}
            frame = self.envelope("tool_call_message", message_id, otid, step)
            frame.update(tool_call=delta, tool_calls=delta)
            yield frame
        yield self.tool_return(step, name, call_id)

    def tool_return(self, step: str, name: str, call_id: str) -> dict[str, Any]:
        message_id = f"message-{self.uuid()}"
        results = [
            {
                "timestamp": (self.clock - timedelta(seconds=i * 7)).isoformat(),
                "time_ago": f"{i * 7}s ago",
                "role": "assistant" if i % 2 == 0 else "user",
                "relevance": {"search_mode": "sql"},
                "content": " ".join(self.rng.choice(_WORDS) for _ in range(12)),
            }
            for i in range(self.rng.randint(1, 4))
        ]
        text = repr({"message": f"Showing {len(results)} results:", "results": results})
        frame = self.envelope("tool_return_message", message_id, message_id[8:-2] + "80", step)
        frame["name"] = name
        frame.update(
            tool_return=text,
            status="success",
            tool_call_id=call_id,
            stdout=None,
            stderr=None,
            tool_returns=[
                {
                    "type": "tool",
                    "tool_return": text,
                    "status": "success",
                    "tool_call_id": call_id,
                    "stdout": None,
                    "stderr": None,
                }
            ],
        )
        return frame

    def step(self) -> Iterator[dict[str, Any]]:
        step = f"step-{self.uuid()}"
        message_id = f"message-{self.uuid()}"
        base = message_id[len("message-") : -2]
        yield from self.reasoning(message_id, base + "80", step, self.rng.randint(10, 40))
        if self.rng.random() < 0.4:
            yield from self.tool_call(step, self.rng.randint(5, 20))
        else:
            yield from self.assistant(message_id, base + "81", step, self.rng.randint(20, 80))


def iter_frames(events: int = DEFAULT_EVENTS, seed: int = 0) -> Iterator[bytes]:
    """Yield ``events`` message frames of one run, then ``data: [DONE]``."""
    rng = random.Random(seed)
    run = _Run(rng)
    body = events - 2  # stop_reason and usage_statistics close the run
    produced = 0
    next_ping = rng.randint(100, 300)
    while produced < body:
        for frame in run.step():
            if produced == body:
                break
            if produced == next_ping:
                yield run.emit(run.ping())
                produced += 1
                next_ping += rng.randint(100, 300)
                if produced == body:
                    break
            yield run.emit(frame)
            produced += 1
    yield _frame({"message_type": "stop_reason", "stop_reason": "end_turn"})
    yield _frame(
        {
            "message_type": "usage_statistics",
            "completion_tokens": events // 2,
            "prompt_tokens": 100 * events // 50,
            "total_tokens": events // 2 + 100 * events // 50,
            "step_count": max(1, events // 50),
            "run_ids": None,
            "cached_input_tokens": None,
            "cache_write_tokens": None,
            "reasoning_tokens": None,
            "context_tokens": 112,
        }
    )
    yield b"data: [DONE]\n\n"


def build_corpus(events: int = DEFAULT_EVENTS, seed: int = 0) -> bytes:
    """The whole stream as the server would send it: ``events`` frames plus ``[DONE]``."""
    return b"".join(iter_frames(events, seed))


def build_large_event(size: int, seed: int = 0) -> bytes:
    """A stream whose one assistant message carries ``size`` bytes of content."""
    rng = random.Random(seed)
    run = _Run(rng)
    message_id = f"message-{run.uuid()}"
    frame = run.envelope("assistant_message", message_id, message_id[8:-2] + "81", "step-x")
    frame["content"] = ""
    frame["seq_id"] = 1
    shell = _dumps(frame)
    words = " ".join(rng.choice(_WORDS) for _ in range(size // 4))
    filler = (words * (size // max(1, len(words)) + 1))[: max(0, size - len(shell))]
    frame["content"] = filler
    return b"data: " + _dumps(frame) + b"\n\ndata: [DONE]\n\n"


if __name__ == "__main__":
    corpus = build_corpus()
    frames = corpus.count(b"\n\n")
    kinds: dict[str, int] = {}
    for block in corpus.split(b"\n\n"):
        if block.startswith(b"data: {"):
            kind = json.loads(block[6:])["message_type"]
            kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{len(corpus):,} bytes, {frames:,} events, {len(corpus) / frames:.0f} bytes/event")
    for kind, count in sorted(kinds.items(), key=lambda item: -item[1]):
        print(f"  {kind:22} {count:6,}")
