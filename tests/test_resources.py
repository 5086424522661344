"""The resources beyond messaging, against ``letta_async.testing``'s in-memory CRUD routes.

Each test drives the typed client, then reads the server's request log to check what really
went over the wire (method, path, query, body), and checks the decoded structs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from letta_async import AsyncLetta, NotFoundError, Timeout
from letta_async.testing import LettaTestServer
from letta_async.testing._server import RecordedRequest
from letta_async.types import (
    AgentState,
    Archive,
    BlockResponse,
    EmbeddingModel,
    Folder,
    HealthResponse,
    Model,
    Passage,
    Step,
    Tool,
)
from letta_async.types._spec import BatchJob
from letta_async.types.folders import FileUploadResponse

pytestmark = pytest.mark.anyio


@pytest.fixture
async def server() -> AsyncIterator[LettaTestServer]:
    async with LettaTestServer(keepalive_interval=0.05) as s:
        yield s


@pytest.fixture
async def client(server: LettaTestServer) -> AsyncIterator[AsyncLetta]:
    async with AsyncLetta(server.base_url, timeout=Timeout(request=5), max_retries=0) as c:
        yield c


def last(server: LettaTestServer, method: str, path: str) -> RecordedRequest:
    seen = server.requests_to(path, method)
    assert seen, f"no {method} {path} reached the server"
    return seen[-1]


# --- health, models, tags ------------------------------------------------------------------


async def test_health_and_readiness(client: AsyncLetta, server: LettaTestServer) -> None:
    health = await client.health()
    assert isinstance(health, HealthResponse)
    assert (health.status, health.version) == ("ok", "0.16.8")
    # client.server covers the routes the official SDK has no resource for, as plain JSON.
    assert await client.server.check() == {"version": "0.16.8", "status": "ok"}
    assert (await client.server.ready())["status"] == "ok"  # type: ignore[index]
    assert last(server, "GET", r"^/v1/ready/$").query == {}


async def test_models_are_one_plain_list(client: AsyncLetta, server: LettaTestServer) -> None:
    models = await client.models.list(provider_type="openai")
    assert isinstance(models, list)
    assert [m.handle for m in models] == ["openai-proxy/fake-model"]
    assert isinstance(models[0], Model) and models[0].max_context_window == 30000
    assert last(server, "GET", r"^/v1/models/$").query == {"provider_type": "openai"}
    assert len(await client.models.list()) == 1
    assert len(server.requests_to(r"^/v1/models/$", "GET")) == 2, "one request per listing"
    embeddings = await client.models.embeddings.list()
    assert isinstance(embeddings[0], EmbeddingModel) and embeddings[0].embedding_dim == 1536


async def test_tags_page_by_the_tag_itself(client: AsyncLetta, server: LettaTestServer) -> None:
    for i in range(5):
        server.create_agent(name=f"a{i}", tags=[f"tag-{i}"])
    # The official tags.list is one plain list; the cursor of the next call is a tag name.
    first = await client.tags.list(limit=2, order="asc")
    assert first == ["tag-0", "tag-1"]
    second = await client.tags.list(limit=2, order="asc", after=first[-1])
    assert second == ["tag-2", "tag-3"]
    cursors = [r.query.get("after") for r in server.requests_to(r"^/v1/tags/$", "GET")]
    assert cursors == [None, "tag-1"]


# --- blocks --------------------------------------------------------------------------------


async def test_block_lifecycle(client: AsyncLetta, server: LettaTestServer) -> None:
    block = await client.blocks.create(
        value="likes tea", label="human", limit=500, tags=["prefs"], description="d"
    )
    assert isinstance(block, BlockResponse) and block.id.startswith("block-")
    assert last(server, "POST", r"^/v1/blocks/$").json == {
        "value": "likes tea",
        "label": "human",
        "limit": 500,
        "description": "d",
        "tags": ["prefs"],
    }
    changed = await client.blocks.update(block.id, value="likes coffee")
    assert changed.value == "likes coffee"
    assert last(server, "PATCH", r"^/v1/blocks/block-").json == {"value": "likes coffee"}
    assert (await client.blocks.retrieve(block.id)).value == "likes coffee"
    assert await client.blocks.count(label="human") >= 1
    assert last(server, "GET", r"^/v1/blocks/count$").query == {"label": "human"}
    assert block.id in [b.id async for b in client.blocks.list(tags=["prefs"])]
    await client.blocks.delete(block.id)
    with pytest.raises(NotFoundError):
        await client.blocks.retrieve(block.id)


async def test_agent_core_memory_by_label_and_attach(
    client: AsyncLetta, server: LettaTestServer
) -> None:
    agent = server.create_agent(
        name="mem",
        memory_blocks=[
            {"label": "human", "value": "unknown"},
            {"label": "persona", "value": "helpful"},
        ],
    )
    labels = [b.label async for b in client.agents.blocks.list(agent["id"])]
    assert set(labels) >= {"human", "persona"}
    human = await client.agents.blocks.retrieve("human", agent_id=agent["id"])
    assert human.label == "human"
    updated = await client.agents.blocks.update("human", agent_id=agent["id"], value="Ada")
    assert updated.value == "Ada"
    assert last(server, "PATCH", r"/core-memory/blocks/human$").json == {"value": "Ada"}
    # The same block seen through the shared blocks API.
    assert (await client.blocks.retrieve(human.id)).value == "Ada"

    shared = await client.blocks.create(value="team notes", label="team")
    state = await client.agents.blocks.attach(shared.id, agent_id=agent["id"])
    assert isinstance(state, AgentState)
    assert shared.id in [b.id for b in state.blocks]
    holders = [a.id async for a in client.blocks.agents.list(shared.id)]
    assert holders == [agent["id"]]
    state = await client.agents.blocks.detach(shared.id, agent_id=agent["id"])
    assert shared.id not in [b.id for b in state.blocks]
    assert last(server, "PATCH", r"/core-memory/blocks/detach/").path == (
        f"/v1/agents/{agent['id']}/core-memory/blocks/detach/{shared.id}"
    )


# --- tools ---------------------------------------------------------------------------------

SOURCE = 'def roll(sides: int) -> int:\n    """Roll a die."""\n    return 4\n'


async def test_tool_lifecycle_and_upsert(client: AsyncLetta, server: LettaTestServer) -> None:
    tool = await client.tools.create(source_code=SOURCE, tags=["dice"])
    assert isinstance(tool, Tool) and tool.name == "roll"
    assert last(server, "POST", r"^/v1/tools/$").json == {
        "source_code": SOURCE,
        "tags": ["dice"],
    }
    again = await client.tools.upsert(source_code=SOURCE, description="Roll it.")
    assert again.id == tool.id and again.description == "Roll it."
    assert last(server, "PUT", r"^/v1/tools/$").method == "PUT"
    assert (await client.tools.update(tool.id, tags=["games"])).tags == ["games"]
    assert await client.tools.count() >= 1
    names = [t.name async for t in client.tools.list(name="roll")]
    assert names == ["roll"]
    first, following = server.requests_to(r"^/v1/tools/$", "GET")[-2:]
    assert first.query == {"name": "roll"}
    assert following.query == {"name": "roll", "after": tool.id}, "the next page's cursor"
    await client.tools.delete(tool.id)
    with pytest.raises(NotFoundError):
        await client.tools.retrieve(tool.id)


async def test_agent_tools_attach_and_detach(client: AsyncLetta, server: LettaTestServer) -> None:
    agent = server.create_agent(name="tooled")
    tool = await client.tools.create(source_code=SOURCE)
    state = await client.agents.tools.attach(tool.id, agent_id=agent["id"])
    assert state is not None and "roll" in [t.name for t in state.tools]
    assert "roll" in [t.name async for t in client.agents.tools.list(agent["id"])]
    state = await client.agents.tools.detach(tool.id, agent_id=agent["id"])
    assert state is not None and "roll" not in [t.name for t in state.tools]


# --- archives and archival memory ----------------------------------------------------------


async def test_archives_and_their_passages(client: AsyncLetta, server: LettaTestServer) -> None:
    archive = await client.archives.create(name="kb", description="facts")
    assert isinstance(archive, Archive) and archive.name == "kb"
    assert last(server, "POST", r"^/v1/archives/$").json == {"name": "kb", "description": "facts"}
    one = await client.archives.passages.create(archive.id, text="water is wet", tags=["t"])
    assert isinstance(one, Passage) and one.text == "water is wet"
    many = await client.archives.passages.create_many(
        archive.id, passages=[{"text": "a"}, {"text": "b"}]
    )
    assert [p.text for p in many] == ["a", "b"]
    assert last(server, "POST", r"/passages/batch$").json == {
        "passages": [{"text": "a"}, {"text": "b"}]
    }
    await client.archives.passages.delete(one.id, archive_id=archive.id)
    assert last(server, "DELETE", r"/passages/").path == (
        f"/v1/archives/{archive.id}/passages/{one.id}"
    )
    renamed = await client.archives.update(archive.id, name="kb2")
    assert renamed.name == "kb2"

    agent = server.create_agent(name="reader")
    await client.agents.archives.attach(archive.id, agent_id=agent["id"])
    assert [a.id async for a in client.archives.agents.list(archive.id)] == [agent["id"]]
    assert [a.id async for a in client.archives.list(agent_id=agent["id"])] == [archive.id]
    await client.agents.archives.detach(archive.id, agent_id=agent["id"])
    assert [a.id async for a in client.archives.agents.list(archive.id)] == []
    await client.archives.delete(archive.id)
    with pytest.raises(NotFoundError):
        await client.archives.retrieve(archive.id)


async def test_agent_archival_memory(client: AsyncLetta, server: LettaTestServer) -> None:
    agent = server.create_agent(name="rememberer")
    created = await client.agents.passages.create(agent["id"], text="the cat is Mo", tags=["pets"])
    assert [p.text for p in created] == ["the cat is Mo"]
    assert last(server, "POST", r"/archival-memory$").json == {
        "text": "the cat is Mo",
        "tags": ["pets"],
    }
    for i in range(4):
        await client.agents.passages.create(agent["id"], text=f"note {i}")
    # The official passages.list is one plain list; the next call's cursor is the last id.
    first = await client.agents.passages.list(agent["id"], limit=2)
    assert [p.text for p in first] == ["the cat is Mo", "note 0"]
    rest = await client.agents.passages.list(agent["id"], after=first[-1].id)
    assert [p.text for p in rest] == ["note 1", "note 2", "note 3"]
    assert last(server, "GET", r"/archival-memory$").query == {"after": first[-1].id}
    found = await client.agents.passages.search(agent["id"], query="cat", top_k=3, tags=["pets"])
    assert found.count == 1 and found.results[0].content == "the cat is Mo"
    query = last(server, "GET", r"/archival-memory/search$").query_string
    assert "query=cat" in query and "top_k=3" in query and "tags=pets" in query
    await client.agents.passages.delete(created[0].id, agent_id=agent["id"])
    assert len(await client.agents.passages.list(agent["id"])) == 4


# --- folders and files ---------------------------------------------------------------------


async def test_folder_upload_and_files(
    client: AsyncLetta, server: LettaTestServer, tmp_path: Path
) -> None:
    folder = await client.folders.create(name="docs", description="manuals")
    assert isinstance(folder, Folder) and folder.id.startswith("source-")
    uploaded = await client.folders.files.upload(
        folder.id, file=("guide.md", b"# Guide\nhello", "text/markdown")
    )
    assert isinstance(uploaded, FileUploadResponse) and uploaded.file_name == "guide.md"
    request = last(server, "POST", r"/upload$")
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="guide.md"' in request.body
    assert b"# Guide\nhello" in request.body

    path = tmp_path / "notes.txt"
    path.write_bytes(b"plain notes")
    from_path = await client.folders.files.upload(
        folder.id, file=path, duplicate_handling="replace", name="renamed.txt"
    )
    assert from_path.file_name == "renamed.txt" and from_path.file_size == len(b"plain notes")
    assert last(server, "POST", r"/upload$").query == {
        "duplicate_handling": "replace",
        "name": "renamed.txt",
    }

    files = [f.file_name async for f in client.folders.files.list(folder.id)]
    assert sorted(files) == ["guide.md", "renamed.txt"]
    full = await client.folders.files.retrieve(
        uploaded.id or "", folder_id=folder.id, include_content=True
    )
    assert full.content == "# Guide\nhello"
    await client.folders.files.delete(uploaded.id or "", folder_id=folder.id)
    assert last(server, "DELETE", r"^/v1/folders/").path == f"/v1/folders/{folder.id}/{uploaded.id}"
    assert [f.file_name async for f in client.folders.files.list(folder.id)] == ["renamed.txt"]
    assert await client.folders.count() == 1
    assert (await client.folders.update(folder.id, instructions="read me")).instructions == (
        "read me"
    )


async def test_agent_folders_and_folder_agents(client: AsyncLetta, server: LettaTestServer) -> None:
    folder = await client.folders.create(name="shared")
    agents = [server.create_agent(name=f"f{i}")["id"] for i in range(3)]
    for agent_id in agents:
        await client.agents.folders.attach(folder.id, agent_id=agent_id)
    listed = [f.id async for f in client.agents.folders.list(agents[0])]
    assert listed == [folder.id]
    # The official folders.agents.list is one list of ids; the next call's cursor is an id.
    first = await client.folders.agents.list(folder.id, limit=2)
    rest = await client.folders.agents.list(folder.id, limit=2, after=first[-1])
    assert first + rest == sorted(agents)
    await client.agents.folders.detach(folder.id, agent_id=agents[0])
    assert [f async for f in client.agents.folders.list(agents[0])] == []
    await client.folders.delete(folder.id)
    with pytest.raises(NotFoundError):
        await client.folders.retrieve(folder.id)


# --- providers -----------------------------------------------------------------------------


async def test_providers(client: AsyncLetta, server: LettaTestServer) -> None:
    await client.providers.check(provider_type="openai", api_key="sk-test")
    assert last(server, "POST", r"^/v1/providers/check$").json == {
        "provider_type": "openai",
        "api_key": "sk-test",
    }
    # Routes the official SDK lacks answer with the server's JSON as plain data.
    provider: Any = await client.providers.create(
        name="mine", provider_type="anthropic", api_key="sk-ant"
    )
    assert isinstance(provider, dict) and provider["provider_category"] == "byok"
    provider_id = provider["id"]
    assert (await client.providers.retrieve(provider_id))["name"] == "mine"  # type: ignore[index]
    assert [p["name"] async for p in client.providers.list(provider_type="anthropic")] == ["mine"]
    updated: Any = await client.providers.update(provider_id, api_key="sk-new", region="eu")
    assert updated["region"] == "eu"
    assert last(server, "PATCH", r"^/v1/providers/").json == {"api_key": "sk-new", "region": "eu"}
    assert (await client.providers.refresh(provider_id))["id"] == provider_id  # type: ignore[index]
    await client.providers.delete(provider_id)
    assert [p async for p in client.providers.list()] == []


# --- batches -------------------------------------------------------------------------------


async def test_batches(client: AsyncLetta, server: LettaTestServer) -> None:
    agent = server.create_agent(name="batched")
    batch = await client.batches.create(
        requests=[{"agent_id": agent["id"], "messages": [{"role": "user", "content": "hi"}]}],
        callback_url="https://example.invalid/done",
    )
    assert isinstance(batch, BatchJob) and (batch.status, batch.job_type) == ("created", "batch")
    batch_id = batch.id or ""
    sent = last(server, "POST", r"^/v1/messages/batches$").json
    otid = sent["requests"][0]["messages"][0].pop("otid")
    assert isinstance(otid, str) and len(otid) >= 32, "batched messages get otids too"
    assert sent == {
        "requests": [{"agent_id": agent["id"], "messages": [{"role": "user", "content": "hi"}]}],
        "callback_url": "https://example.invalid/done",
    }
    retrieved: Any = await client.batches.retrieve(batch_id)
    assert retrieved["callback_url"] == "https://example.invalid/done"
    assert [b["id"] async for b in client.batches.list()] == [batch_id]
    assert [m async for m in client.batches.messages.list(batch_id, agent_id=agent["id"])] == []
    assert last(server, "GET", r"/messages$").query == {"agent_id": agent["id"]}
    await client.batches.cancel(batch_id)
    assert (await client.batches.retrieve(batch_id))["status"] == "cancelled"  # type: ignore[index]


# --- steps ---------------------------------------------------------------------------------


async def test_steps_of_a_finished_run(client: AsyncLetta, server: LettaTestServer) -> None:
    agent = server.create_agent(name="stepper")
    await client.agents.messages.create(
        agent["id"], messages=[{"role": "user", "content": "hi [tool]"}]
    )
    steps = [s async for s in client.steps.list(agent_id=agent["id"])]
    assert steps and all(isinstance(s, Step) for s in steps)
    step = await client.steps.retrieve(steps[0].id)
    assert step.agent_id == agent["id"]
    metrics = await client.steps.metrics.retrieve(step.id)
    assert metrics.id == step.id
    rated = await client.steps.feedback.create(step.id, feedback="positive", tags=["good"])
    assert rated.feedback == "positive" and rated.tags == ["good"]
    assert last(server, "PATCH", r"/feedback$").json == {"feedback": "positive", "tags": ["good"]}
    run_metrics: Any = await client.runs.metrics.retrieve(step.run_id or "")
    assert run_metrics["id"] == step.run_id and run_metrics["num_steps"] == len(steps)
