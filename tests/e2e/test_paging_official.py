"""Page walks compared with the official SDK's own walks on the real server.

The same listings are walked page by page with ``letta_client`` (1.12.1) and with this
client. Where the official cursor rule is right for the route (ordinary listings), every page
must agree: items, ``has_next_page()`` and ``next_page_info()``, the final empty page
included. Where it is wrong (message histories), ``.official()`` must still reproduce the
official walk page for page, and the default walk must give each item of the server's history
exactly once, in the server's order, checked against one unpaged read of the history.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from typing import Any

import aiohttp
import pytest

import letta_async

from .conftest import create_agent

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.anyio,
    pytest.mark.skipif(
        importlib.util.find_spec("letta_client") is None,
        reason="needs the official SDK (letta-client==1.12.1), which `nox -s e2e` installs",
    ),
]

Walk = list[tuple[list[tuple[str, str]], bool, dict[str, Any] | None]]


def _entry(item: Any) -> tuple[str, str]:
    return (item.id, getattr(item, "message_type", None) or type(item).__name__)


async def _walk(first: Any) -> Walk:
    """Every page of a walk: its items, whether it names a next page, and the cursor."""
    pages: Walk = []
    async for page in first.iter_pages():
        info = page.next_page_info()
        pages.append(
            ([_entry(i) for i in page.items], page.has_next_page(), info and dict(info.params))
        )
        assert len(pages) < 60, "a walk that does not end"
    return pages


async def _raw(base_url: str, path: str) -> list[tuple[str, str]]:
    url = base_url + path + ("&" if "?" in path else "?") + "order=asc&limit=1000"
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        return [(m["id"], m["message_type"]) for m in await r.json()]


@pytest.fixture(scope="module")
async def history(base_url: str) -> Any:
    async with letta_async.AsyncLetta(base_url=base_url) as client:
        agent_id = await create_agent(client)
        conversation = await client.conversations.create(agent_id=agent_id)
        for text in ("hello", "[tool] look it up", "third", "[tool] again", "fifth"):
            await client.conversations.messages.create(
                conversation.id, messages=[{"role": "user", "content": text}], streaming=False
            )
        run_id = ""
        for text in ("direct one", "[tool] direct two"):
            sent = await client.agents.messages.create(
                agent_id, messages=[{"role": "user", "content": text}]
            )
            run_id = next(m.run_id for m in sent.messages if m.run_id)
        yield agent_id, conversation.id, run_id


async def test_ordinary_listings_page_as_the_official_sdk(base_url: str, history: Any) -> None:
    import letta_client

    agent_id, _, _ = history
    async with (
        letta_async.AsyncLetta(base_url=base_url) as ours,
        letta_client.AsyncLetta(base_url=base_url) as official,
    ):
        for order in ("asc", "desc"):
            for limit in (1, 2):
                want = await _walk(
                    await official.agents.tools.list(agent_id, limit=limit, order=order)
                )
                got = await _walk(await ours.agents.tools.list(agent_id, limit=limit, order=order))
                assert got == want, (order, limit)
                assert want[-1][1] is False
        want = await _walk(await official.agents.blocks.list(agent_id, limit=1))
        assert await _walk(await ours.agents.blocks.list(agent_id, limit=1)) == want
        assert [len(p[0]) for p in want] == [1, 1, 0], "two blocks, then the empty page"


@pytest.mark.parametrize("route", ["conversation", "agent", "default", "run"])
@pytest.mark.parametrize("order", ["desc", "asc", None])
@pytest.mark.parametrize("limit", [3, None])
async def test_histories_official_walk_and_ours(
    base_url: str, history: Any, route: str, order: str | None, limit: int | None
) -> None:
    import letta_client

    agent_id, conversation_id, run_id = history
    # "default" with agent_id: the agent's own history through the conversations route.
    owner = {
        "conversation": conversation_id,
        "agent": agent_id,
        "default": "default",
        "run": run_id,
    }[route]
    path = {
        "conversation": f"/v1/conversations/{owner}/messages",
        "agent": f"/v1/agents/{owner}/messages",
        "default": f"/v1/conversations/default/messages?agent_id={agent_id}",
        "run": f"/v1/runs/{owner}/messages",
    }[route]
    truth = await _raw(base_url, path)
    kwargs: dict[str, Any] = ({"order": order} if order else {}) | (
        {"limit": limit} if limit else {}
    )
    order = order or ("asc" if route == "run" else "desc")  # each route's default
    if order == "desc" and route in ("conversation", "run"):
        truth = truth[::-1]  # desc pages newest first throughout
    if route == "default":
        kwargs["agent_id"] = agent_id
    async with (
        letta_async.AsyncLetta(base_url=base_url) as ours,
        letta_client.AsyncLetta(base_url=base_url) as official,
    ):
        off = {
            "agent": official.agents.messages,
            "run": official.runs.messages,
        }.get(route, official.conversations.messages)
        mine = {"agent": ours.agents.messages, "run": ours.runs.messages}.get(
            route, ours.conversations.messages
        )
        want = await _walk(await off.list(owner, **kwargs))
        as_official = await _walk(await mine.list(owner, **kwargs).official())
        assert as_official == want
        official_items = [e async for e in off.list(owner, **kwargs)]
        assert [_entry(m) async for m in mine.list(owner, **kwargs).official()] == [
            (i, t) for i, t in (_entry(m) for m in official_items)
        ]
        walked = [_entry(m) async for m in mine.list(owner, **kwargs)]
    if order == "desc" and route in ("agent", "default") and limit:
        # Agent desc pages run oldest to newest, newest page first: the same items, once each.
        assert len(walked) == len(set(walked)) and sorted(walked) == sorted(truth)
    else:
        assert walked == truth
    # What a program counting message kinds prints: ours is the server's history.
    kinds = Counter(t for _, t in walked)
    official_kinds = Counter(t for _, t in (_entry(m) for m in official_items))
    if route == "conversation" and order == "desc":
        # The official desc walk asks for the newer messages again on every page.
        official_entries = [_entry(m) for m in official_items]
        assert official_kinds != kinds
        assert len(set(official_entries)) < len(official_entries)
        assert set(official_entries) <= set(walked)


@pytest.mark.parametrize("order", ["desc", "asc"])
async def test_runs_walk_and_the_official_one(base_url: str, history: Any, order: str) -> None:
    """Letta reads run cursors in time (``after`` is newer for desc, and swapped for asc), so
    the official ``after=<last id>`` walk of runs repeats or stops; ours gives each run once."""
    import letta_client

    agent_id, _, _ = history
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{base_url}/v1/runs/", params={"agent_id": agent_id, "order": order, "limit": "1000"}
        ) as r,
    ):
        truth = [(run["id"], "Run") for run in await r.json()]
    assert len(truth) >= 5
    async with (
        letta_async.AsyncLetta(base_url=base_url) as ours,
        letta_client.AsyncLetta(base_url=base_url) as official,
    ):
        want = await _walk(await official.runs.list(agent_id=agent_id, order=order, limit=2))
        assert (
            await _walk(await ours.runs.list(agent_id=agent_id, order=order, limit=2).official())
            == want
        )
        walked = [_entry(r) async for r in ours.runs.list(agent_id=agent_id, order=order, limit=2)]
    assert walked == truth
    assert [e for page in want for e in page[0]] != truth
