"""Tool approvals: the agent asks before it runs a tool, and this program decides.

    python examples/approvals.py            # an allow-list decides
    python examples/approvals.py --ask      # you decide, y/n, for each call

What it shows: a run that needs approval stops with the ``requires_approval`` stop reason after
an ``approval_request_message`` naming the tool and its arguments (in a token stream, spread over
several deltas that share a ``tool_call_id``). The answer goes back as the next message: an
:class:`~letta_async.types.ApprovalCreate` with one
:class:`~letta_async.types.ApprovalReturn` per pending call, approving or denying (with a reason
the model gets to read). The run then continues in a new stream: the tool runs, or the denial
comes back as a failed tool result, and the agent answers.

On a real server the example first marks the agent's ``conversation_search`` tool as needing
approval (``PATCH /v1/agents/{id}/tools/approval/{tool}``, called through ``client.request``); the
local server's scripted agent asks for approval whenever the prompt says ``[approval]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from _common import connect, create_agent

from letta_async import AsyncLetta, LettaError, NotFoundError
from letta_async.types import (
    ApprovalCreate,
    ApprovalRequestMessage,
    ApprovalReturn,
    AssistantMessage,
    ToolCall,
    ToolCallDelta,
    ToolReturn,
    ToolReturnMessage,
)

PROMPT = "Search our past conversations for 'lighthouse', then tell me what you found. [approval]"
TOOL = "conversation_search"
ALLOWED = frozenset({TOOL})
MAX_ROUNDS = 5


@dataclass
class ToolRequest:
    """One tool call waiting for a decision, assembled from its deltas."""

    tool_call_id: str
    name: str = ""
    arguments: str = ""

    def parsed_arguments(self) -> Any:
        try:
            return json.loads(self.arguments)
        except ValueError:
            return self.arguments  # models do produce broken JSON; show it as it is


@dataclass
class Decision:
    approve: bool
    reason: str | None = None


Policy = Callable[[ToolRequest], Decision]


def allow_list(request: ToolRequest) -> Decision:
    """Approve tools on the allow-list, refuse the rest with a reason the model can read."""
    if request.name in ALLOWED:
        return Decision(True)
    return Decision(False, f"{request.name} is not on this program's allow-list")


def ask_user(request: ToolRequest) -> Decision:
    """Ask on the terminal."""
    answer = input(f"allow {request.name}({request.arguments})? [y/N] ").strip().lower()
    return Decision(True) if answer in ("y", "yes") else Decision(False, "the user said no")


@dataclass
class Outcome:
    """Every decision taken, the tool results, and the agent's final answer."""

    decisions: list[tuple[ToolRequest, Decision]] = field(default_factory=list)
    tool_results: list[tuple[str, str]] = field(default_factory=list)
    """(status, text) of each tool return."""
    answer: str = ""
    stop_reason: str | None = None


def _collect(event: ApprovalRequestMessage, pending: dict[str, ToolRequest]) -> None:
    """Fold one approval event (a whole call list, or one token delta) into ``pending``."""
    raw = event.tool_calls
    calls: list[ToolCall | ToolCallDelta]
    if raw is None:
        calls = [event.tool_call] if event.tool_call is not None else []
    elif isinstance(raw, list):
        calls = list(raw)
    else:
        calls = [raw]
    last = next(reversed(pending.values()), None)
    for call in calls:
        call_id = call.tool_call_id or (last.tool_call_id if last else None)
        if call_id is None:
            continue
        request = pending.setdefault(call_id, ToolRequest(call_id))
        request.name += call.name or ""
        request.arguments += call.arguments or ""
        last = request


async def _require_approval(client: AsyncLetta, agent_id: str) -> None:
    # The local scripted server has no such route: it asks for approval on its own.
    with contextlib.suppress(NotFoundError):
        await client.agents.tools.update_approval(
            TOOL, agent_id=agent_id, body_requires_approval=True
        )


async def main(
    policy: Policy = allow_list, *, base_url: str | None = None, out: TextIO | None = None
) -> Outcome:
    """Send the prompt and answer approval requests with ``policy`` until the agent is done."""
    out = out or sys.stdout
    outcome = Outcome()
    async with connect(base_url) as client:
        agent_id = await create_agent(client, "approval-example")
        try:
            await _require_approval(client, agent_id)
            messages: list[Any] = [{"role": "user", "content": PROMPT}]
            for _ in range(MAX_ROUNDS):
                pending: dict[str, ToolRequest] = {}
                stream = await client.agents.messages.create(
                    agent_id, messages=messages, streaming=True, stream_tokens=True
                )
                async for event in stream:
                    if isinstance(event, ApprovalRequestMessage):
                        _collect(event, pending)
                    elif isinstance(event, ToolReturnMessage):
                        text = event.tool_return if isinstance(event.tool_return, str) else ""
                        outcome.tool_results.append((event.status or "?", text))
                        print(f"tool result [{event.status}]: {text[:80]}", file=out)
                    elif isinstance(event, AssistantMessage) and isinstance(event.content, str):
                        outcome.answer += event.content
                outcome.stop_reason = stream.stop_reason
                if stream.stop_reason != "requires_approval" or not pending:
                    break
                approvals: list[ApprovalReturn | ToolReturn] = []
                for request in pending.values():
                    decision = policy(request)
                    outcome.decisions.append((request, decision))
                    verdict = "approved" if decision.approve else f"denied ({decision.reason})"
                    print(f"{request.name}({request.arguments}): {verdict}", file=out)
                    approvals.append(
                        ApprovalReturn(
                            tool_call_id=request.tool_call_id,
                            approve=decision.approve,
                            reason=decision.reason,
                        )
                    )
                messages = [ApprovalCreate(approvals=approvals)]
        finally:
            await client.agents.delete(agent_id)
    print(f"agent: {outcome.answer}", file=out)
    return outcome


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ask", action="store_true", help="decide each call yourself")
    args = parser.parse_args(argv)
    try:
        asyncio.run(main(ask_user if args.ask else allow_list))
    except LettaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
