"""In-memory state of the test server: agents, conversations, messages, runs and their frames.

Everything is plain dataclasses over JSON-shaped dicts, so a test can assert on exactly what the
server would answer (``server.state.runs[run_id].status``) without another HTTP round trip.
All of it lives on the server's event loop; read it from tests on that loop.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from . import _frames as F

__all__ = [
    "AgentRecord",
    "ConversationRecord",
    "Frame",
    "MessageRecord",
    "RunRecord",
    "ServerState",
    "agent_state",
    "page_by_order",
    "page_messages",
]

Json = dict[str, Any]
T = TypeVar("T")

_ORDER = itertools.count()

ACTIVE_STATUSES = frozenset({"created", "running"})

DEFAULT_SYSTEM = (
    "<base_instructions>\nYou are a helpful self-improving agent with advanced memory.\n"
    "</base_instructions>"
)
USER_ID = "user-00000000-0000-4000-8000-000000000000"
ORG_ID = "org-00000000-0000-4000-8000-000000000000"


@dataclass(eq=False)
class MessageRecord:
    """One stored message. It can list as several items (reasoning + answer share an id)."""

    id: str
    items: list[Json]
    run_id: str | None
    role: str
    text: str
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    order: int = field(default_factory=lambda: next(_ORDER))


@dataclass(eq=False)
class AgentRecord:
    """An agent: its AgentState JSON and its message history (oldest first)."""

    id: str
    data: Json
    messages: list[MessageRecord] = field(default_factory=list)
    context_ids: list[str] = field(default_factory=list)
    pending_approval: Json | None = None
    last_run_id: str | None = None
    order: int = field(default_factory=lambda: next(_ORDER))

    def to_json(self) -> Json:
        """The agent as the API returns it: its AgentState with the ids of its messages."""
        out = dict(self.data)
        out["message_ids"] = list(self.context_ids)
        return out


@dataclass(eq=False)
class ConversationRecord:
    """A conversation of an agent, with its own message history."""

    id: str
    agent_id: str
    data: Json
    messages: list[MessageRecord] = field(default_factory=list)
    last_run_id: str | None = None
    order: int = field(default_factory=lambda: next(_ORDER))

    def to_json(self) -> Json:
        """The conversation as the API returns it, with the ids of its messages."""
        out = dict(self.data)
        out["in_context_message_ids"] = [m.id for m in self.messages]
        return out

    def created_json(self) -> Json:
        """The answer to its creation: built before the system message was added, so the
        real server lists no message ids there although a GET right after lists one."""
        out = self.to_json()
        out["in_context_message_ids"] = []
        return out


@dataclass(frozen=True)
class Frame:
    """One SSE event as produced by a run. ``seq`` is set for background runs only."""

    data: bytes
    kind: str
    seq: int | None


@dataclass(eq=False)
class RunRecord:
    """A run and the log of frames it produced.

    Foreground streams follow :attr:`frames` by position; background readers (the POST response
    and ``/v1/runs/{id}/stream``) follow it by :attr:`Frame.seq`. The log outlives every
    connection, which is what makes a dropped connection resumable.
    """

    id: str
    agent_id: str
    conversation_id: str | None
    background: bool
    run_type: str
    token_mode: bool
    include_pings: bool
    logs_frames: bool
    include_return_message_types: list[str] | None = None
    status: str = "created"
    stop_reason: str | None = None
    created_at: str = field(default_factory=F.created_timestamp)
    completed_at: str | None = None
    total_duration_ns: int | None = None
    steps: list[Json] = field(default_factory=list)
    completion_tokens: int = 0
    prompt_tokens: int = 0
    result_messages: list[Json] = field(default_factory=list)
    error: Json | None = None
    usage_event: Json | None = None
    frames: list[Frame] = field(default_factory=list)
    finished: bool = False
    task: asyncio.Task[None] | None = None
    first_step_id: str = field(default_factory=lambda: F.new_id("step"))
    order: int = field(default_factory=lambda: next(_ORDER))
    _started: float = field(default_factory=time.monotonic)
    _next_seq: int = 1
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _done: asyncio.Event = field(default_factory=asyncio.Event)
    _cancel: asyncio.Event = field(default_factory=asyncio.Event)

    # --- the frame log -----------------------------------------------------------------

    def append(self, payload: Json | bytes, kind: str) -> None:
        """Log one event. Background runs number every event, but only messages, pings and
        error payloads carry the number in a ``seq_id`` field (as the server's Redis reader)."""
        if not self.logs_frames:
            return
        wanted = self.include_return_message_types
        if (
            kind == "message"
            and wanted is not None
            and isinstance(payload, dict)
            and payload.get("message_type") not in wanted
        ):
            return
        seq: int | None = None
        if self.background:
            seq = self._next_seq
            self._next_seq += 1
            if isinstance(payload, dict) and "seq_id" in payload:
                payload = dict(payload)
                payload["seq_id"] = seq
        if isinstance(payload, bytes):
            data = payload
        elif kind == "error":
            data = F.encode_error_event(payload)
        else:
            data = F.encode_data(payload)
        self.frames.append(Frame(data=data, kind=kind, seq=seq))
        self.wake()

    def wake(self) -> None:
        """Wake every reader waiting for a new frame (or for the end)."""
        old = self._changed
        self._changed = asyncio.Event()
        old.set()

    @property
    def changed(self) -> asyncio.Event:
        """An event set at the next append or wake; take it before checking for new frames."""
        return self._changed

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the run has not reached a final status yet."""
        return self.status in ACTIVE_STATUSES

    @property
    def cancel_requested(self) -> asyncio.Event:
        """Set once a cancel was asked for; the scripted agent stops at its next pause."""
        return self._cancel

    def request_cancel(self) -> None:
        """Mark the run cancelled, as the server's cancel endpoint does, and wake the agent."""
        if self.active:
            self.status = "cancelled"
            self.stop_reason = "cancelled"
        self._cancel.set()

    def finish(self) -> None:
        """Mark the run finished: stamp its end and duration, wake waiters and readers."""
        if self.finished:
            return
        self.finished = True
        self.completed_at = F.completed_timestamp()
        self.total_duration_ns = int((time.monotonic() - self._started) * 1e9)
        self._done.set()
        self.wake()

    async def wait_finished(self) -> None:
        """Wait until :meth:`finish` has run."""
        await self._done.wait()

    # --- JSON ----------------------------------------------------------------------------

    def to_json(self) -> Json:
        """The run as ``GET /v1/runs/{run_id}`` returns it."""
        metadata: Json = {"run_type": self.run_type}
        if self.run_type == "send_message_async":
            metadata["lettuce"] = None
        return {
            "id": self.id,
            "status": self.status,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "agent_id": self.agent_id,
            "conversation_id": self.conversation_id,
            "base_template_id": None,
            "background": self.background,
            "metadata": metadata,
            "request_config": {
                "use_assistant_message": True,
                "assistant_message_tool_name": "send_message",
                "assistant_message_tool_kwarg": "message",
                "include_return_message_types": self.include_return_message_types,
            },
            "stop_reason": self.stop_reason,
            "callback_url": None,
            "callback_sent_at": None,
            "callback_status_code": None,
            "callback_error": None,
            "ttft_ns": None,
            "total_duration_ns": self.total_duration_ns if self.finished else None,
        }

    def usage_json(self) -> Json:
        """The run's token usage as ``GET /v1/runs/{run_id}/usage`` returns it."""
        return {
            "completion_tokens": self.completion_tokens,
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.completion_tokens + self.prompt_tokens,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        }


@dataclass
class ServerState:
    """Everything the server knows. Dicts keep creation order."""

    agents: dict[str, AgentRecord] = field(default_factory=dict)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    conversations: dict[str, ConversationRecord] = field(default_factory=dict)

    def history(self, run: RunRecord) -> list[MessageRecord]:
        """The message list a run writes to: its conversation's, else its agent's."""
        if run.conversation_id is not None:
            conv = self.conversations.get(run.conversation_id)
            return conv.messages if conv is not None else []
        agent = self.agents.get(run.agent_id)
        return agent.messages if agent is not None else []

    def runs_of(
        self, *, agent_id: str | None = None, conversation_id: str | None = None
    ) -> list[RunRecord]:
        """The runs of one agent or one conversation (or all runs), oldest first."""
        return [
            r
            for r in self.runs.values()
            if (agent_id is None or r.agent_id == agent_id)
            and (conversation_id is None or r.conversation_id == conversation_id)
        ]


# --- pagination ----------------------------------------------------------------------------


def _index(items: Sequence[T], key: Callable[[T], str], cursor: str) -> int | None:
    for i, item in enumerate(items):
        if key(item) == cursor:
            return i
    return None


def page_messages(
    records: Sequence[MessageRecord],
    *,
    limit: int,
    order: str,
    before: str | None,
    after: str | None,
    newest_first: bool = False,
) -> list[MessageRecord]:
    """The real server's message cursor rules.

    ``before``/``after`` are in time: older / newer than the cursor message. ``desc`` takes the
    newest ``limit`` messages of that window and ``asc`` the oldest. An agent's history comes
    back oldest to newest in both orders (the quirk seen in ``messages_list_desc_page1.json``);
    a conversation's (``newest_first``) comes back in the order asked for, and there a cursor
    the server does not know is ignored rather than emptying the window.
    """
    ordered = sorted(records, key=lambda r: r.order)
    lo, hi = 0, len(ordered)
    if after is not None:
        i = _index(ordered, lambda r: r.id, after)
        if i is not None or not newest_first:
            lo = len(ordered) if i is None else i + 1
    if before is not None:
        i = _index(ordered, lambda r: r.id, before)
        if i is not None or not newest_first:
            hi = 0 if i is None else i
    window = ordered[lo:hi] if lo < hi else []
    if limit <= 0:
        return []
    if order == "desc":
        page = window[-limit:]
        return page[::-1] if newest_first else page
    return window[:limit]


def page_by_order(
    items: Sequence[T],
    *,
    key: Callable[[T], str],
    created: Callable[[T], int],
    limit: int,
    order: str,
    before: str | None,
    after: str | None,
) -> list[T]:
    """Plain cursor paging (agents, runs, steps): sort by ``order``; ``after``/``before`` mean
    after/before the cursor in that sort order."""
    ordered = sorted(items, key=created, reverse=(order == "desc"))
    if after is not None:
        i = _index(ordered, key, after)
        ordered = [] if i is None else ordered[i + 1 :]
    if before is not None:
        i = _index(ordered, key, before)
        ordered = [] if i is None else ordered[:i]
    return ordered[: max(limit, 0)]


# --- AgentState ----------------------------------------------------------------------------

_TOOLS = (
    ("conversation_search", "Search prior conversation history using hybrid search."),
    ("memory_insert", "Insert text at a specific line in a memory block."),
    ("memory_replace", "Replace an exact string in a memory block."),
)

_BLOCK_DESCRIPTIONS = {
    "human": "The human block: Stores key details about the person you are conversing with.",
    "persona": "The persona block: Stores details about your current persona.",
}


def _block(label: str, value: str, limit: int) -> Json:
    return {
        "value": value,
        "limit": limit,
        "project_id": None,
        "template_name": None,
        "is_template": False,
        "template_id": None,
        "base_template_id": None,
        "deployment_id": None,
        "entity_id": None,
        "preserve_on_migration": False,
        "label": label,
        "read_only": False,
        "description": _BLOCK_DESCRIPTIONS.get(label),
        "metadata": {},
        "hidden": None,
        "id": F.new_id("block"),
        "created_by_id": None,
        "last_updated_by_id": None,
        "tags": [],
    }


def _tool(name: str, description: str) -> Json:
    return {
        "id": F.new_id("tool"),
        "tool_type": "letta_core",
        "description": description,
        "source_type": "python",
        "name": name,
        "tags": ["letta_core"],
        "source_code": None,
        "json_schema": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": {}, "required": []},
        },
        "args_json_schema": None,
        "return_char_limit": 50000,
        "pip_requirements": None,
        "npm_requirements": None,
        "default_requires_approval": None,
        "enable_parallel_execution": False,
        "created_by_id": USER_ID,
        "last_updated_by_id": USER_ID,
        "metadata_": {},
        "project_id": None,
    }


def agent_state(agent_id: str, body: Json, *, system_message_id: str) -> Json:
    """An AgentState-shaped dict like ``agent_create.json``, trimmed of rarely used fields."""
    now = F.created_timestamp()
    model = str(body.get("model") or "openai-proxy/fake-model")
    embedding = str(body.get("embedding") or "openai/text-embedding-3-small")
    agent_type = str(body.get("agent_type") or "letta_v1_agent")
    blocks = [
        _block(str(b.get("label", "")), str(b.get("value", "")), int(b.get("limit") or 100000))
        for b in body.get("memory_blocks") or []
        if isinstance(b, dict)
    ]
    model_name = model.split("/", 1)[-1]
    return {
        "created_by_id": USER_ID,
        "last_updated_by_id": USER_ID,
        "created_at": now,
        "updated_at": now,
        "id": agent_id,
        "name": str(body.get("name") or f"agent-{agent_id[6:14]}"),
        "tool_rules": [],
        "message_ids": [system_message_id],
        "system": str(body.get("system") or DEFAULT_SYSTEM),
        "agent_type": agent_type,
        "llm_config": {
            "model": model_name,
            "display_name": None,
            "model_endpoint_type": "openai",
            "model_endpoint": "http://127.0.0.1/v1",
            "provider_name": "openai",
            "provider_category": "base",
            "model_wrapper": None,
            "context_window": 30000,
            "put_inner_thoughts_in_kwargs": False,
            "handle": model,
            "temperature": 1.0,
            "max_tokens": 16384,
            "enable_reasoner": False,
            "reasoning_effort": None,
            "max_reasoning_tokens": 0,
        },
        "embedding_config": {
            "embedding_endpoint_type": "openai",
            "embedding_endpoint": "http://127.0.0.1/v1",
            "embedding_model": embedding.split("/", 1)[-1],
            "embedding_dim": 1536,
            "embedding_chunk_size": 300,
            "handle": embedding,
            "batch_size": 32,
            "azure_endpoint": None,
            "azure_version": None,
            "azure_deployment": None,
        },
        "model": model,
        "embedding": embedding,
        "model_settings": {
            "max_output_tokens": 16384,
            "parallel_tool_calls": True,
            "provider_type": "openai",
            "temperature": 1.0,
            "response_format": None,
            "strict": False,
        },
        "response_format": None,
        "description": body.get("description"),
        "metadata": body.get("metadata"),
        "memory": {
            "agent_type": agent_type,
            "git_enabled": False,
            "blocks": blocks,
            "file_blocks": [],
            "prompt_template": "",
        },
        "blocks": blocks,
        "tools": [_tool(name, desc) for name, desc in _TOOLS],
        "sources": [],
        "tags": list(body.get("tags") or []),
        "tool_exec_environment_variables": [],
        "secrets": [],
        "project_id": None,
        "template_id": None,
        "base_template_id": None,
        "deployment_id": None,
        "entity_id": None,
        "identity_ids": [],
        "identities": [],
        "pending_approval": None,
        "message_buffer_autoclear": False,
        "enable_sleeptime": None,
        "multi_agent_group": None,
        "managed_group": None,
        "last_run_completion": None,
        "last_run_duration_ms": None,
        "last_stop_reason": None,
        "timezone": "UTC",
        "max_files_open": 5,
        "per_file_view_window_char_limit": 15000,
        "hidden": None,
    }


def conversation_state(conversation_id: str, agent_id: str, body: Json) -> Json:
    """A Conversation-shaped dict like ``conversation_create.json``."""
    now = F.created_timestamp()
    return {
        "created_by_id": USER_ID,
        "last_updated_by_id": USER_ID,
        "created_at": now,
        "updated_at": now,
        "id": conversation_id,
        "agent_id": agent_id,
        "summary": body.get("summary"),
        "in_context_message_ids": [],
        "isolated_block_ids": [],
        "model": body.get("model"),
        "model_settings": body.get("model_settings"),
        "last_message_at": None,
    }


def step_json(
    *,
    step_id: str,
    run: RunRecord,
    model: str,
    completion: int,
    prompt: int,
    stop: str | None,
    status: str = "success",
) -> Json:
    """A Step like ``run_steps.json``."""
    return {
        "id": step_id,
        "origin": None,
        "organization_id": ORG_ID,
        "provider_id": None,
        "run_id": run.id,
        "agent_id": run.agent_id,
        "provider_name": "openai",
        "provider_category": "base",
        "model": model.split("/", 1)[-1],
        "model_handle": model,
        "model_endpoint": "http://127.0.0.1/v1",
        "context_window_limit": 30000,
        "completion_tokens": completion,
        "prompt_tokens": prompt,
        "total_tokens": completion + prompt,
        "cached_input_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "completion_tokens_details": {"reasoning_tokens": 0},
        "prompt_tokens_details": {
            "cached_tokens": 0,
            "cache_read_tokens": 0,
            "cache_creation_tokens": 0,
        },
        "stop_reason": stop,
        "tags": [],
        "tid": None,
        "trace_id": None,
        "request_id": None,
        "messages": [],
        "feedback": None,
        "project_id": None,
        "error_type": None,
        "error_data": None,
        "status": status,
    }
