"""A chat bot loop: each line you type is a turn, and the reply streams in as it is written.

    python examples/chat.py                  # type lines; /quit or Ctrl-D ends it
    printf 'hi\\nlook it up [tool]\\n' | python examples/chat.py

What it shows: one client for the whole session, token streaming, and telling the kinds of
event apart with ``isinstance`` (reasoning and tool activity go to stderr, the reply itself to
stdout). Reading stdin happens in a worker thread, so the event loop stays free for other
work, such as other conversations, while the bot waits for you.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TextIO

import anyio
from _common import connect, create_agent

from letta_async import AsyncLetta, LettaError, StreamError
from letta_async.types import (
    ApprovalRequestMessage,
    AssistantMessage,
    ReasoningMessage,
    ToolCallMessage,
    ToolReturnMessage,
)

QUIT = "/quit"


@dataclass
class Transcript:
    """What was said: one (user, agent) pair per turn."""

    turns: list[tuple[str, str]] = field(default_factory=list)


async def _stdin_lines(prompt: str) -> AsyncIterator[str]:
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print(prompt, end="", flush=True)
        # abandon_on_cancel: Ctrl-C must not wait for the blocked read to return.
        line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not line:  # end of input
            return
        yield line


async def _given_lines(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def reply(client: AsyncLetta, agent_id: str, text: str, out: TextIO, notes: TextIO) -> str:
    """Send one turn and print the reply as it streams; returns the reply's text."""
    parts: list[str] = []
    noted: set[str] = set()  # token streams repeat a message id once per delta

    def note(message_id: str, text: str) -> None:
        if message_id not in noted:
            noted.add(message_id)
            print(f"  ({text})", file=notes, flush=True)

    stream = await client.agents.messages.create(
        agent_id, messages=[{"role": "user", "content": text}], streaming=True, stream_tokens=True
    )
    try:
        async for event in stream:
            if isinstance(event, AssistantMessage):
                chunk = event.content if isinstance(event.content, str) else ""
                if not parts:
                    print("agent> ", end="", file=out)
                parts.append(chunk)
                print(chunk, end="", file=out, flush=True)
            elif isinstance(event, ReasoningMessage):
                note(event.id, "thinking")
            elif isinstance(event, (ToolCallMessage, ApprovalRequestMessage)):
                call = event.tool_call
                if call is not None and call.name:
                    note(event.id + call.name, f"calling {call.name}")
            elif isinstance(event, ToolReturnMessage):
                note(event.id, f"tool finished: {event.status}")
    except StreamError as error:
        # The server reported an error inside the stream, after the events above.
        note("error", f"error: {error.error.message}")
    if parts:
        print(file=out)
    return "".join(parts)


async def main(
    lines: Iterable[str] | None = None,
    *,
    base_url: str | None = None,
    out: TextIO | None = None,
    notes: TextIO | None = None,
) -> Transcript:
    """Chat until the input ends or says ``/quit``; ``lines`` replaces stdin (for tests)."""
    out = out or sys.stdout
    notes = notes or sys.stderr
    transcript = Transcript()
    source = _stdin_lines("you> ") if lines is None else _given_lines(lines)
    async with connect(base_url) as client:
        agent_id = await create_agent(client, "chat-example")
        try:
            async for line in source:
                text = line.strip()
                if text == QUIT:
                    break
                if not text:
                    continue
                transcript.turns.append((text, await reply(client, agent_id, text, out, notes)))
        finally:
            await client.agents.delete(agent_id)
    return transcript


def run() -> int:
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 130
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run())
