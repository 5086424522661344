"""Agents and conversations as the server returns them.

These structs name the fields a client acts on; the server sends many more (an AgentState is
some 20 KB of configuration), which msgspec skips without building them. Nested
configuration that callers rarely read stays a plain ``dict`` rather than a guessed schema.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

__all__ = ["AgentState", "Block", "Conversation", "ToolRef"]


class Block(msgspec.Struct, kw_only=True):
    """A core-memory block (``human``, ``persona``, ...)."""

    id: str | None = None
    label: str | None = None
    value: str = ""
    limit: int | None = None
    description: str | None = None
    read_only: bool | None = None
    metadata: dict[str, Any] | None = None


class ToolRef(msgspec.Struct, kw_only=True):
    """The parts of a tool an agent listing shows."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    tool_type: str | None = None


class AgentState(msgspec.Struct, kw_only=True):
    """An agent: identity, model, memory and tools."""

    id: str
    name: str
    agent_type: str | None = None
    system: str | None = None
    description: str | None = None
    model: str | None = None
    embedding: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    blocks: list[Block] = msgspec.field(default_factory=list)
    tools: list[ToolRef] = msgspec.field(default_factory=list)
    metadata: dict[str, Any] | None = None
    llm_config: dict[str, Any] | None = None
    embedding_config: dict[str, Any] | None = None
    message_ids: list[str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_completion: datetime | None = None
    last_stop_reason: str | None = None
    timezone: str | None = None


class Conversation(msgspec.Struct, kw_only=True):
    """A conversation: a separate message thread on one agent."""

    id: str
    agent_id: str
    summary: str | None = None
    model: str | None = None
    in_context_message_ids: list[str] = msgspec.field(default_factory=list)
    isolated_block_ids: list[str] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_message_at: datetime | None = None
