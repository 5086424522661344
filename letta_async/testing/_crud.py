"""The test server's plain resources: blocks, tools, archives, folders, providers, batches...

These routes are simple in-memory CRUD, enough for a client test to create something, read it
back, page through it and attach it to an agent, with the server's JSON shapes and its cursor
rules (``before``/``after``/``limit``/``order``). They do not model what the real server does
with the data (no embeddings, no file parsing, no LLM calls): a search matches substrings, an
upload stores the bytes, a batch is a job record whose status tests move themselves.

State lives on :class:`CrudState` (``server.crud.state``), next to the agents and runs of
:class:`ServerState`; an agent's ``blocks`` and ``tools`` are the same dicts as the stored
blocks and tools, so an edit through one route shows through the other, as on the server.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from . import _frames as F
from ._state import ORG_ID, USER_ID, AgentRecord, page_by_order

if TYPE_CHECKING:
    from ._server import LettaTestServer

__all__ = ["CrudRoutes", "CrudState"]

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ORDER = itertools.count()
_EMBEDDING_CONFIG: Json = {
    "embedding_endpoint_type": "openai",
    "embedding_endpoint": "http://127.0.0.1/v1",
    "embedding_model": "text-embedding-3-small",
    "embedding_dim": 1536,
    "embedding_chunk_size": 300,
    "handle": "openai/text-embedding-3-small",
    "batch_size": 32,
    "azure_endpoint": None,
    "azure_version": None,
    "azure_deployment": None,
}
MODELS: list[Json] = [
    {
        "handle": "openai-proxy/fake-model",
        "name": "fake-model",
        "display_name": "fake-model",
        "provider_type": "openai",
        "provider_name": "openai-proxy",
        "model_type": "llm",
        "max_context_window": 30000,
        "model_endpoint_type": "openai",
        "model_endpoint": "http://127.0.0.1/v1",
        "model": "fake-model",
        "context_window": 30000,
    }
]
"""What ``GET /v1/models/`` lists: the scripted agent's model."""
EMBEDDING_MODELS: list[Json] = [
    {
        "handle": "openai/text-embedding-3-small",
        "name": "text-embedding-3-small",
        "display_name": "text-embedding-3-small",
        "provider_type": "openai",
        "provider_name": "openai",
        "model_type": "embedding",
        "embedding_dim": 1536,
        "embedding_endpoint_type": "openai",
        "embedding_model": "text-embedding-3-small",
    }
]


class _Missing(Exception):
    """A 404 with the server's wording, raised anywhere in a handler."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} with id {ident} not found")


def _respond(obj: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=F.encode_json(obj),
        content_type="application/json",
        headers={"Server": "uvicorn", "Vary": "Origin"},
    )


def _stamp(record: Json) -> Json:
    now = F.created_timestamp()
    record.setdefault("created_at", now)
    record["updated_at"] = now
    return record


@dataclass
class Collection:
    """One kind of record, by id, in creation order (for cursor paging)."""

    kind: str
    prefix: str
    items: dict[str, Json] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)

    def add(self, record: Json) -> Json:
        record.setdefault("id", F.new_id(self.prefix))
        self.items[record["id"]] = _stamp(record)
        self.order[record["id"]] = next(_ORDER)
        return record

    def get(self, ident: str) -> Json:
        record = self.items.get(ident)
        if record is None:
            raise _Missing(self.kind, ident)
        return record

    def remove(self, ident: str) -> Json:
        record = self.get(ident)
        del self.items[ident]
        return record

    def page(self, request: web.Request, records: Iterable[Json] | None = None) -> list[Json]:
        return paged(request, list(self.items.values() if records is None else records), self)


def paged(
    request: web.Request, records: list[Json], ordering: Collection | None = None
) -> list[Json]:
    """The real server's plain cursor rule over ``records`` (newest first by default)."""
    query = request.query
    order = query.get("order", "desc")
    if "ascending" in query and "order" not in query:
        order = "asc" if query["ascending"].lower() == "true" else "desc"
    rank = ordering.order if ordering is not None else {}
    position = {id(r): i for i, r in enumerate(records)}
    return page_by_order(
        records,
        key=lambda r: str(r.get("id")),
        created=lambda r: rank.get(str(r.get("id")), position[id(r)]),
        limit=int(query.get("limit", "50")),
        order=order,
        before=query.get("before"),
        after=query.get("after"),
    )


@dataclass
class CrudState:
    """Records of the plain resources (see the module docstring)."""

    blocks: Collection = field(default_factory=lambda: Collection("Block", "block"))
    tools: Collection = field(default_factory=lambda: Collection("Tool", "tool"))
    archives: Collection = field(default_factory=lambda: Collection("Archive", "archive"))
    passages: Collection = field(default_factory=lambda: Collection("Passage", "passage"))
    folders: Collection = field(default_factory=lambda: Collection("Folder", "source"))
    files: Collection = field(default_factory=lambda: Collection("File", "file"))
    providers: Collection = field(default_factory=lambda: Collection("Provider", "provider"))
    batches: Collection = field(default_factory=lambda: Collection("Batch", "batch_req"))
    agent_folders: dict[str, list[str]] = field(default_factory=dict)
    agent_archives: dict[str, list[str]] = field(default_factory=dict)


class CrudRoutes:
    """The route table entries of the plain resources; ``state`` holds their records."""

    def __init__(self, server: LettaTestServer) -> None:
        self.server = server
        self.state = CrudState()

    # --- helpers -------------------------------------------------------------------------

    def _agent(self, request: web.Request) -> AgentRecord:
        agent_id = request.match_info["agent_id"]
        agent = self.server.state.agents.get(agent_id)
        if agent is None:
            raise _Missing("Agent", agent_id)
        return agent

    @staticmethod
    async def _body(request: web.Request) -> Json:
        raw = await request.read()
        if not raw:
            return {}
        data = msgspec.json.decode(raw)
        return data if isinstance(data, dict) else {}

    def _sync_agent_records(self) -> None:
        """Blocks and tools an agent was created with become stored records too."""
        for agent in self.server.state.agents.values():
            for block in agent.data.get("blocks") or []:
                if block.get("id") and block["id"] not in self.state.blocks.items:
                    self.state.blocks.add(block)
            for tool in agent.data.get("tools") or []:
                if tool.get("id") and tool["id"] not in self.state.tools.items:
                    self.state.tools.add(tool)

    def _agents_holding(self, key: str, ident: str) -> list[AgentRecord]:
        return [
            a
            for a in self.server.state.agents.values()
            if any(item.get("id") == ident for item in a.data.get(key) or [])
        ]

    def _agents_with(self, mapping: dict[str, list[str]], ident: str) -> list[AgentRecord]:
        agents = self.server.state.agents
        return [agents[a] for a, ids in mapping.items() if ident in ids and a in agents]

    @staticmethod
    def _guard(handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except _Missing as exc:
                return _respond({"detail": str(exc)}, 404)

        return guarded

    def routes(self) -> list[tuple[str, str, Handler]]:
        """``(method, path, handler)`` rows for the server's route table (fixed paths first)."""
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/v1/ready/", self._ready),
            ("GET", "/v1/models/", self._models),
            ("GET", "/v1/models/embedding", self._embedding_models),
            ("GET", "/v1/tags/", self._tags),
            # blocks
            ("GET", "/v1/blocks/count", self._count_blocks),
            ("POST", "/v1/blocks/", self._create_block),
            ("GET", "/v1/blocks/", self._list_blocks),
            ("GET", "/v1/blocks/{block_id}", self._get_block),
            ("PATCH", "/v1/blocks/{block_id}", self._patch_block),
            ("DELETE", "/v1/blocks/{block_id}", self._delete_block),
            ("GET", "/v1/blocks/{block_id}/agents", self._block_agents),
            ("GET", "/v1/agents/{agent_id}/core-memory/blocks", self._agent_blocks),
            (
                "PATCH",
                "/v1/agents/{agent_id}/core-memory/blocks/attach/{block_id}",
                self._attach_block,
            ),
            (
                "PATCH",
                "/v1/agents/{agent_id}/core-memory/blocks/detach/{block_id}",
                self._detach_block,
            ),
            ("GET", "/v1/agents/{agent_id}/core-memory/blocks/{block_label}", self._agent_block),
            (
                "PATCH",
                "/v1/agents/{agent_id}/core-memory/blocks/{block_label}",
                self._patch_agent_block,
            ),
            # tools
            ("GET", "/v1/tools/count", self._count_tools),
            ("POST", "/v1/tools/", self._create_tool),
            ("PUT", "/v1/tools/", self._upsert_tool),
            ("GET", "/v1/tools/", self._list_tools),
            ("GET", "/v1/tools/{tool_id}", self._get_tool),
            ("PATCH", "/v1/tools/{tool_id}", self._patch_tool),
            ("DELETE", "/v1/tools/{tool_id}", self._delete_tool),
            ("GET", "/v1/agents/{agent_id}/tools", self._agent_tools),
            ("PATCH", "/v1/agents/{agent_id}/tools/attach/{tool_id}", self._attach_tool),
            ("PATCH", "/v1/agents/{agent_id}/tools/detach/{tool_id}", self._detach_tool),
            # archives and archival memory
            ("POST", "/v1/archives/", self._create_archive),
            ("GET", "/v1/archives/", self._list_archives),
            ("GET", "/v1/archives/{archive_id}", self._get_archive),
            ("PATCH", "/v1/archives/{archive_id}", self._patch_archive),
            ("DELETE", "/v1/archives/{archive_id}", self._delete_archive),
            ("GET", "/v1/archives/{archive_id}/agents", self._archive_agents),
            ("POST", "/v1/archives/{archive_id}/passages/batch", self._create_passages),
            ("POST", "/v1/archives/{archive_id}/passages", self._create_passage),
            ("DELETE", "/v1/archives/{archive_id}/passages/{passage_id}", self._delete_passage),
            ("PATCH", "/v1/agents/{agent_id}/archives/attach/{archive_id}", self._attach_archive),
            ("PATCH", "/v1/agents/{agent_id}/archives/detach/{archive_id}", self._detach_archive),
            ("GET", "/v1/agents/{agent_id}/archival-memory/search", self._search_memory),
            ("GET", "/v1/agents/{agent_id}/archival-memory", self._list_memory),
            ("POST", "/v1/agents/{agent_id}/archival-memory", self._create_memory),
            ("DELETE", "/v1/agents/{agent_id}/archival-memory/{memory_id}", self._delete_memory),
            # folders and files
            ("GET", "/v1/folders/count", self._count_folders),
            ("POST", "/v1/folders/", self._create_folder),
            ("GET", "/v1/folders/", self._list_folders),
            ("GET", "/v1/folders/{folder_id}", self._get_folder),
            ("PATCH", "/v1/folders/{folder_id}", self._patch_folder),
            ("DELETE", "/v1/folders/{folder_id}", self._delete_folder),
            ("GET", "/v1/folders/{folder_id}/agents", self._folder_agents),
            ("POST", "/v1/folders/{folder_id}/upload", self._upload),
            ("GET", "/v1/folders/{folder_id}/files", self._list_files),
            ("GET", "/v1/folders/{folder_id}/files/{file_id}", self._get_file),
            ("DELETE", "/v1/folders/{folder_id}/{file_id}", self._delete_file),
            ("GET", "/v1/agents/{agent_id}/folders", self._agent_folders),
            ("PATCH", "/v1/agents/{agent_id}/folders/attach/{folder_id}", self._attach_folder),
            ("PATCH", "/v1/agents/{agent_id}/folders/detach/{folder_id}", self._detach_folder),
            # providers
            ("POST", "/v1/providers/check", self._check_provider),
            ("POST", "/v1/providers/", self._create_provider),
            ("GET", "/v1/providers/", self._list_providers),
            ("GET", "/v1/providers/{provider_id}", self._get_provider),
            ("PATCH", "/v1/providers/{provider_id}", self._patch_provider),
            ("DELETE", "/v1/providers/{provider_id}", self._delete_provider),
            ("PATCH", "/v1/providers/{provider_id}/refresh", self._get_provider),
            # batches
            ("POST", "/v1/messages/batches", self._create_batch),
            ("GET", "/v1/messages/batches", self._list_batches),
            ("GET", "/v1/messages/batches/{batch_id}", self._get_batch),
            ("PATCH", "/v1/messages/batches/{batch_id}/cancel", self._cancel_batch),
            ("GET", "/v1/messages/batches/{batch_id}/messages", self._batch_messages),
            # steps (the steps of the server's runs)
            ("GET", "/v1/steps/", self._list_steps),
            ("GET", "/v1/steps/{step_id}", self._get_step),
            ("GET", "/v1/steps/{step_id}/metrics", self._step_metrics),
            ("PATCH", "/v1/steps/{step_id}/feedback", self._step_feedback),
            ("GET", "/v1/runs/{run_id}/metrics", self._run_metrics),
        ]
        return [(method, route, self._guard(handler)) for method, route, handler in table]

    # --- health, models, tags ------------------------------------------------------------

    async def _ready(self, request: web.Request) -> web.StreamResponse:
        return _respond({"version": "0.16.8", "status": "ok"})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        return _respond(MODELS)

    async def _embedding_models(self, request: web.Request) -> web.StreamResponse:
        return _respond(EMBEDDING_MODELS)

    async def _tags(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        tags: set[str] = set()
        for agent in self.server.state.agents.values():
            tags.update(agent.data.get("tags") or [])
        for block in self.state.blocks.items.values():
            tags.update(block.get("tags") or [])
        query = request.query
        name = query.get("name")
        ordered = sorted(
            (t for t in tags if name is None or name in t), reverse=query.get("order") == "desc"
        )
        after, before = query.get("after"), query.get("before")
        descending = query.get("order") == "desc"
        if after is not None:
            ordered = [t for t in ordered if (t < after if descending else t > after)]
        if before is not None:
            ordered = [t for t in ordered if (t > before if descending else t < before)]
        return _respond(ordered[: int(query.get("limit", "50"))])

    # --- blocks --------------------------------------------------------------------------

    def _new_block(self, body: Json) -> Json:
        block = {
            "value": body.get("value", ""),
            "limit": body.get("limit", 100000),
            "label": body.get("label"),
            "description": body.get("description"),
            "metadata": body.get("metadata") or {},
            "read_only": bool(body.get("read_only", False)),
            "hidden": body.get("hidden"),
            "is_template": bool(body.get("is_template", False)),
            "tags": body.get("tags") or [],
            "project_id": body.get("project_id"),
            "template_name": body.get("template_name"),
            "created_by_id": USER_ID,
            "last_updated_by_id": USER_ID,
        }
        return self.state.blocks.add(block)

    async def _count_blocks(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        return _respond(len(self._filter_blocks(request)))

    def _filter_blocks(self, request: web.Request) -> list[Json]:
        blocks = list(self.state.blocks.items.values())
        label = request.query.get("label")
        if label is not None:
            blocks = [b for b in blocks if b.get("label") == label]
        wanted = set(request.query.getall("tags", []))
        if wanted:
            blocks = [b for b in blocks if wanted & set(b.get("tags") or [])]
        return blocks

    async def _create_block(self, request: web.Request) -> web.StreamResponse:
        return _respond(self._new_block(await self._body(request)))

    async def _list_blocks(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        return _respond(self.state.blocks.page(request, self._filter_blocks(request)))

    async def _get_block(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        return _respond(self.state.blocks.get(request.match_info["block_id"]))

    async def _patch_block(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        block = self.state.blocks.get(request.match_info["block_id"])
        block.update(await self._body(request))
        return _respond(_stamp(block))

    async def _delete_block(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        block = self.state.blocks.remove(request.match_info["block_id"])
        for agent in self._agents_holding("blocks", block["id"]):
            agent.data["blocks"] = [b for b in agent.data["blocks"] if b is not block]
        return _respond({})

    async def _block_agents(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        block = self.state.blocks.get(request.match_info["block_id"])
        agents = self._agents_holding("blocks", block["id"])
        return _respond(paged(request, [a.to_json() for a in agents]))

    async def _agent_blocks(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        return _respond(paged(request, list(agent.data.get("blocks") or [])))

    def _block_by_label(self, agent: AgentRecord, label: str) -> Json:
        blocks: list[Json] = agent.data.get("blocks") or []
        for block in blocks:
            if block.get("label") == label:
                return block
        raise _Missing("Block", f"label={label}")

    async def _agent_block(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        return _respond(self._block_by_label(agent, request.match_info["block_label"]))

    async def _patch_agent_block(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        block = self._block_by_label(agent, request.match_info["block_label"])
        block.update(await self._body(request))
        return _respond(_stamp(block))

    async def _attach_block(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        self._sync_agent_records()
        block = self.state.blocks.get(request.match_info["block_id"])
        blocks = agent.data.setdefault("blocks", [])
        if all(b is not block for b in blocks):
            blocks.append(block)
        return _respond(agent.to_json())

    async def _detach_block(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        ident = request.match_info["block_id"]
        agent.data["blocks"] = [b for b in agent.data.get("blocks") or [] if b.get("id") != ident]
        return _respond(agent.to_json())

    # --- tools ---------------------------------------------------------------------------

    def _tool_json(self, body: Json, existing: Json | None = None) -> Json:
        tool = existing if existing is not None else {}
        name = body.get("name") or tool.get("name") or _function_name(body.get("source_code"))
        tool.update(
            {
                "tool_type": tool.get("tool_type", "custom"),
                "name": name,
                "description": body.get("description", tool.get("description")),
                "source_type": body.get("source_type", tool.get("source_type", "python")),
                "source_code": body.get("source_code", tool.get("source_code")),
                "tags": body.get("tags", tool.get("tags") or []),
                "json_schema": body.get("json_schema")
                or tool.get("json_schema")
                or {"name": name, "parameters": {"type": "object", "properties": {}}},
                "return_char_limit": body.get("return_char_limit", 50000),
                "default_requires_approval": body.get("default_requires_approval"),
                "created_by_id": USER_ID,
                "last_updated_by_id": USER_ID,
                "metadata_": body.get("metadata_", tool.get("metadata_") or {}),
            }
        )
        return tool

    async def _count_tools(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        return _respond(len(self.state.tools.items))

    async def _create_tool(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        name = body.get("name") or _function_name(body.get("source_code"))
        if any(t.get("name") == name for t in self.state.tools.items.values()):
            return _respond({"detail": f"Tool with name {name} already exists"}, 409)
        return _respond(self.state.tools.add(self._tool_json(body)))

    async def _upsert_tool(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        name = body.get("name") or _function_name(body.get("source_code"))
        for tool in self.state.tools.items.values():
            if tool.get("name") == name:
                return _respond(_stamp(self._tool_json(body, tool)))
        return _respond(self.state.tools.add(self._tool_json(body)))

    async def _list_tools(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        tools = list(self.state.tools.items.values())
        name = request.query.get("name")
        if name is not None:
            tools = [t for t in tools if t.get("name") == name]
        return _respond(self.state.tools.page(request, tools))

    async def _get_tool(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        return _respond(self.state.tools.get(request.match_info["tool_id"]))

    async def _patch_tool(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        tool = self.state.tools.get(request.match_info["tool_id"])
        tool.update(await self._body(request))
        return _respond(_stamp(tool))

    async def _delete_tool(self, request: web.Request) -> web.StreamResponse:
        self._sync_agent_records()
        tool = self.state.tools.remove(request.match_info["tool_id"])
        for agent in self._agents_holding("tools", tool["id"]):
            agent.data["tools"] = [t for t in agent.data["tools"] if t is not tool]
        return _respond({})

    async def _agent_tools(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        return _respond(paged(request, list(agent.data.get("tools") or [])))

    async def _attach_tool(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        self._sync_agent_records()
        tool = self.state.tools.get(request.match_info["tool_id"])
        tools = agent.data.setdefault("tools", [])
        if all(t is not tool for t in tools):
            tools.append(tool)
        return _respond(agent.to_json())

    async def _detach_tool(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        ident = request.match_info["tool_id"]
        agent.data["tools"] = [t for t in agent.data.get("tools") or [] if t.get("id") != ident]
        return _respond(agent.to_json())

    # --- archives and archival memory ----------------------------------------------------

    def _new_passage(self, body: Json, *, archive_id: str | None, agent_id: str | None) -> Json:
        return self.state.passages.add(
            {
                "text": body.get("text", ""),
                "tags": body.get("tags") or [],
                "metadata": body.get("metadata") or {},
                "archive_id": archive_id,
                "agent_id": agent_id,
                "embedding": None,
                "embedding_config": _EMBEDDING_CONFIG,
                "organization_id": ORG_ID,
                "is_deleted": False,
            }
        )

    async def _create_archive(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        archive = {
            "name": body.get("name"),
            "description": body.get("description"),
            "organization_id": ORG_ID,
            "vector_db_provider": "native",
            "embedding_config": _EMBEDDING_CONFIG,
            "metadata": {},
        }
        return _respond(self.state.archives.add(archive))

    async def _list_archives(self, request: web.Request) -> web.StreamResponse:
        archives = list(self.state.archives.items.values())
        agent_id = request.query.get("agent_id")
        if agent_id is not None:
            owned = set(self.state.agent_archives.get(agent_id, []))
            archives = [a for a in archives if a["id"] in owned]
        name = request.query.get("name")
        if name is not None:
            archives = [a for a in archives if a.get("name") == name]
        return _respond(self.state.archives.page(request, archives))

    async def _get_archive(self, request: web.Request) -> web.StreamResponse:
        return _respond(self.state.archives.get(request.match_info["archive_id"]))

    async def _patch_archive(self, request: web.Request) -> web.StreamResponse:
        archive = self.state.archives.get(request.match_info["archive_id"])
        body = await self._body(request)
        archive.update({k: v for k, v in body.items() if k in ("name", "description")})
        return _respond(_stamp(archive))

    async def _delete_archive(self, request: web.Request) -> web.StreamResponse:
        archive = self.state.archives.remove(request.match_info["archive_id"])
        for ids in self.state.agent_archives.values():
            if archive["id"] in ids:
                ids.remove(archive["id"])
        return _respond(archive)

    async def _archive_agents(self, request: web.Request) -> web.StreamResponse:
        archive = self.state.archives.get(request.match_info["archive_id"])
        agents = self._agents_with(self.state.agent_archives, archive["id"])
        return _respond(paged(request, [a.to_json() for a in agents]))

    async def _create_passage(self, request: web.Request) -> web.StreamResponse:
        archive = self.state.archives.get(request.match_info["archive_id"])
        body = await self._body(request)
        return _respond(self._new_passage(body, archive_id=archive["id"], agent_id=None))

    async def _create_passages(self, request: web.Request) -> web.StreamResponse:
        archive = self.state.archives.get(request.match_info["archive_id"])
        body = await self._body(request)
        created = [
            self._new_passage(item, archive_id=archive["id"], agent_id=None)
            for item in body.get("passages") or []
        ]
        return _respond(created)

    async def _delete_passage(self, request: web.Request) -> web.StreamResponse:
        self.state.archives.get(request.match_info["archive_id"])
        self.state.passages.remove(request.match_info["passage_id"])
        return web.Response(status=204)

    async def _attach_archive(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        archive = self.state.archives.get(request.match_info["archive_id"])
        ids = self.state.agent_archives.setdefault(agent.id, [])
        if archive["id"] not in ids:
            ids.append(archive["id"])
        return _respond({})

    async def _detach_archive(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        ids = self.state.agent_archives.get(agent.id, [])
        if request.match_info["archive_id"] in ids:
            ids.remove(request.match_info["archive_id"])
        return _respond({})

    def _memories(self, agent: AgentRecord) -> list[Json]:
        archives = set(self.state.agent_archives.get(agent.id, []))
        return [
            p
            for p in self.state.passages.items.values()
            if p.get("agent_id") == agent.id or p.get("archive_id") in archives
        ]

    async def _list_memory(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        memories = self._memories(agent)
        search = request.query.get("search")
        if search:
            memories = [m for m in memories if search.lower() in m["text"].lower()]
        query = request.query
        ascending = query.get("ascending", "true").lower() == "true"
        page = page_by_order(
            memories,
            key=lambda m: m["id"],
            created=lambda m: self.state.passages.order[m["id"]],
            limit=int(query.get("limit", "100")),
            order="asc" if ascending else "desc",
            before=query.get("before"),
            after=query.get("after"),
        )
        return _respond(page)

    async def _create_memory(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        body = await self._body(request)
        return _respond([self._new_passage(body, archive_id=None, agent_id=agent.id)])

    async def _search_memory(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        text = request.query.get("query", "").lower()
        hits = [m for m in self._memories(agent) if text in m["text"].lower()]
        top_k = int(request.query.get("top_k", "10"))
        results = [
            {"id": m["id"], "timestamp": m["created_at"], "content": m["text"], "tags": m["tags"]}
            for m in hits[:top_k]
        ]
        return _respond({"results": results, "count": len(results)})

    async def _delete_memory(self, request: web.Request) -> web.StreamResponse:
        self._agent(request)
        self.state.passages.remove(request.match_info["memory_id"])
        return _respond({})

    # --- folders and files ---------------------------------------------------------------

    async def _count_folders(self, request: web.Request) -> web.StreamResponse:
        return _respond(len(self.state.folders.items))

    async def _create_folder(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        folder = {
            "name": body.get("name"),
            "description": body.get("description"),
            "instructions": body.get("instructions"),
            "metadata": body.get("metadata"),
            "embedding_config": _EMBEDDING_CONFIG,
            "organization_id": ORG_ID,
            "vector_db_provider": "native",
            "created_by_id": USER_ID,
            "last_updated_by_id": USER_ID,
        }
        return _respond(self.state.folders.add(folder))

    async def _list_folders(self, request: web.Request) -> web.StreamResponse:
        folders = list(self.state.folders.items.values())
        name = request.query.get("name")
        if name is not None:
            folders = [f for f in folders if f.get("name") == name]
        return _respond(self.state.folders.page(request, folders))

    async def _get_folder(self, request: web.Request) -> web.StreamResponse:
        return _respond(self.state.folders.get(request.match_info["folder_id"]))

    async def _patch_folder(self, request: web.Request) -> web.StreamResponse:
        folder = self.state.folders.get(request.match_info["folder_id"])
        body = await self._body(request)
        folder.update({k: v for k, v in body.items() if v is not None})
        return _respond(_stamp(folder))

    async def _delete_folder(self, request: web.Request) -> web.StreamResponse:
        folder = self.state.folders.remove(request.match_info["folder_id"])
        for ident in [
            f for f, rec in self.state.files.items.items() if rec["source_id"] == folder["id"]
        ]:
            self.state.files.remove(ident)
        for ids in self.state.agent_folders.values():
            if folder["id"] in ids:
                ids.remove(folder["id"])
        return _respond({})

    async def _folder_agents(self, request: web.Request) -> web.StreamResponse:
        folder = self.state.folders.get(request.match_info["folder_id"])
        ids = sorted(a.id for a in self._agents_with(self.state.agent_folders, folder["id"]))
        after = request.query.get("after")
        if after is not None:
            ids = [i for i in ids if i > after]
        return _respond(ids[: int(request.query.get("limit", "50"))])

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        folder = self.state.folders.get(request.match_info["folder_id"])
        filename, content, content_type = _parse_upload(
            request.headers.get("Content-Type", ""), await request.read()
        )
        record = {
            "source_id": folder["id"],
            "file_name": request.query.get("name") or filename,
            "original_file_name": filename,
            "file_type": content_type,
            "file_size": len(content),
            "processing_status": "completed",
            "total_chunks": 1,
            "chunks_embedded": 1,
            "organization_id": ORG_ID,
            "content": content.decode("utf-8", "replace"),
        }
        return _respond(_file_view(self.state.files.add(record), include_content=False))

    async def _list_files(self, request: web.Request) -> web.StreamResponse:
        folder = self.state.folders.get(request.match_info["folder_id"])
        files = [f for f in self.state.files.items.values() if f["source_id"] == folder["id"]]
        include = request.query.get("include_content", "false").lower() == "true"
        return _respond([_file_view(f, include) for f in self.state.files.page(request, files)])

    async def _get_file(self, request: web.Request) -> web.StreamResponse:
        self.state.folders.get(request.match_info["folder_id"])
        record = self.state.files.get(request.match_info["file_id"])
        include = request.query.get("include_content", "false").lower() == "true"
        return _respond(_file_view(record, include))

    async def _delete_file(self, request: web.Request) -> web.StreamResponse:
        self.state.folders.get(request.match_info["folder_id"])
        self.state.files.remove(request.match_info["file_id"])
        return web.Response(status=204)

    async def _agent_folders(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        ids = self.state.agent_folders.get(agent.id, [])
        folders = [self.state.folders.items[i] for i in ids if i in self.state.folders.items]
        return _respond(self.state.folders.page(request, folders))

    async def _attach_folder(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        folder = self.state.folders.get(request.match_info["folder_id"])
        ids = self.state.agent_folders.setdefault(agent.id, [])
        if folder["id"] not in ids:
            ids.append(folder["id"])
        return _respond(agent.to_json())

    async def _detach_folder(self, request: web.Request) -> web.StreamResponse:
        agent = self._agent(request)
        ids = self.state.agent_folders.get(agent.id, [])
        if request.match_info["folder_id"] in ids:
            ids.remove(request.match_info["folder_id"])
        return _respond(agent.to_json())

    # --- providers -----------------------------------------------------------------------

    async def _check_provider(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        if not body.get("api_key"):
            return _respond({"detail": "Invalid API key"}, 401)
        return _respond({"message": "Valid"})

    async def _create_provider(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        provider = {
            "name": body.get("name"),
            "provider_type": body.get("provider_type"),
            "provider_category": "byok",
            "base_url": body.get("base_url"),
            "region": body.get("region"),
            "api_version": body.get("api_version"),
            "organization_id": ORG_ID,
        }
        return _respond(self.state.providers.add(provider))

    async def _list_providers(self, request: web.Request) -> web.StreamResponse:
        providers = list(self.state.providers.items.values())
        for key in ("name", "provider_type"):
            value = request.query.get(key)
            if value is not None:
                providers = [p for p in providers if p.get(key) == value]
        return _respond(self.state.providers.page(request, providers))

    async def _get_provider(self, request: web.Request) -> web.StreamResponse:
        return _respond(self.state.providers.get(request.match_info["provider_id"]))

    async def _patch_provider(self, request: web.Request) -> web.StreamResponse:
        provider = self.state.providers.get(request.match_info["provider_id"])
        body = await self._body(request)
        provider.update({k: v for k, v in body.items() if k != "api_key" and v is not None})
        return _respond(_stamp(provider))

    async def _delete_provider(self, request: web.Request) -> web.StreamResponse:
        self.state.providers.remove(request.match_info["provider_id"])
        return _respond({})

    # --- batches -------------------------------------------------------------------------

    async def _create_batch(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        for item in body.get("requests") or []:
            agent_id = item.get("agent_id", "")
            if agent_id not in self.server.state.agents:
                return _respond({"detail": f"Agent with ID {agent_id} not found"}, 404)
        batch = {
            "status": "created",
            "job_type": "batch",
            "callback_url": body.get("callback_url"),
            "metadata": {"request_count": len(body.get("requests") or [])},
            "user_id": USER_ID,
            "completed_at": None,
            "stop_reason": None,
            "callback_sent_at": None,
            "callback_status_code": None,
            "callback_error": None,
        }
        return _respond(self.state.batches.add(batch))

    async def _list_batches(self, request: web.Request) -> web.StreamResponse:
        return _respond(self.state.batches.page(request))

    async def _get_batch(self, request: web.Request) -> web.StreamResponse:
        return _respond(self.state.batches.get(request.match_info["batch_id"]))

    async def _cancel_batch(self, request: web.Request) -> web.StreamResponse:
        batch = self.state.batches.get(request.match_info["batch_id"])
        if batch["status"] in ("created", "running", "pending"):
            batch["status"] = "cancelled"
            batch["completed_at"] = F.created_timestamp()
        return _respond({})

    async def _batch_messages(self, request: web.Request) -> web.StreamResponse:
        self.state.batches.get(request.match_info["batch_id"])
        return _respond({"messages": []})

    # --- steps ---------------------------------------------------------------------------

    def _steps(self) -> list[Json]:
        return [step for run in self.server.state.runs.values() for step in run.steps]

    def _step(self, ident: str) -> Json:
        for step in self._steps():
            if step.get("id") == ident:
                return step
        raise _Missing("Step", ident)

    async def _list_steps(self, request: web.Request) -> web.StreamResponse:
        steps = self._steps()
        agent_id = request.query.get("agent_id")
        if agent_id is not None:
            steps = [s for s in steps if s.get("agent_id") == agent_id]
        return _respond(paged(request, steps))

    async def _get_step(self, request: web.Request) -> web.StreamResponse:
        return _respond(self._step(request.match_info["step_id"]))

    async def _step_metrics(self, request: web.Request) -> web.StreamResponse:
        step = self._step(request.match_info["step_id"])
        return _respond(
            {
                "id": step["id"],
                "run_id": step.get("run_id"),
                "agent_id": step.get("agent_id"),
                "llm_request_ns": 1_000_000,
                "tool_execution_ns": 0,
                "step_ns": 2_000_000,
            }
        )

    async def _step_feedback(self, request: web.Request) -> web.StreamResponse:
        step = self._step(request.match_info["step_id"])
        body = await self._body(request)
        if "feedback" in body:
            step["feedback"] = body["feedback"]
        if body.get("tags") is not None:
            step["tags"] = body["tags"]
        return _respond(step)

    async def _run_metrics(self, request: web.Request) -> web.StreamResponse:
        run = self.server.state.runs.get(request.match_info["run_id"])
        if run is None:
            return _respond(
                {"detail": f"Run not found with id='{request.match_info['run_id']}'"}, 404
            )
        return _respond(
            {
                "id": run.id,
                "agent_id": run.agent_id,
                "run_ns": run.total_duration_ns,
                "num_steps": len(run.steps),
                "tools_used": [],
            }
        )


def _function_name(source: Any) -> str:
    """The first ``def`` name in Python source (how the server names an unnamed tool)."""
    if isinstance(source, str):
        for line in source.splitlines():
            stripped = line.strip()
            if stripped.startswith(("def ", "async def ")):
                return stripped.split("def ", 1)[1].split("(", 1)[0].strip()
    return "tool"


def _parse_upload(content_type: str, body: bytes) -> tuple[str, bytes, str]:
    """``(filename, bytes, content type)`` of the ``file`` field of a multipart body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            content = payload if isinstance(payload, bytes) else b""
            return part.get_filename() or "upload", content, part.get_content_type()
    raise web.HTTPUnprocessableEntity(reason="missing file field")


def _file_view(record: Json, include_content: bool) -> Json:
    view = dict(record)
    if not include_content:
        view["content"] = None
    return view
