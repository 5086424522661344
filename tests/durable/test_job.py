"""Recording a send with ``submit``: every message's ``otid`` is chosen before anything is
sent and stored with the key (a given one is kept), the options the durable layer sets itself
are refused, and the request is recorded as it was given, for whoever sends it later."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from letta_async.durable import DuplicateKeyError, SQLiteCursorStore, submit
from letta_async.durable._cursor import decode_request
from letta_async.types import MessageCreate

pytestmark = pytest.mark.anyio

AGENT = "agent-00000000-0000-4000-8000-000000000001"


async def test_submit_records_the_send_with_an_otid_for_every_message(tmp_path: Path) -> None:
    messages = [
        {"role": "user", "content": "a"},
        MessageCreate(role="user", content="b", otid="mine"),
        {"role": "user", "content": "c", "otid": None},
        MessageCreate(role="user", content="d"),
    ]
    async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
        cursor = await submit(
            store, "k", AGENT, messages=messages, conversation_id="conv-1", max_steps=3
        )
        stored = await store.get("k")
        with pytest.raises(DuplicateKeyError) as again:
            await submit(store, "k", AGENT, messages=[{"role": "user", "content": "again"}])
    assert again.value.args == ("k",)
    assert stored == cursor
    assert (stored.key, stored.agent_id, stored.conversation_id, stored.phase) == (
        "k",
        AGENT,
        "conv-1",
        "recorded",
    )
    assert stored.otids[1] == "mine"
    chosen = [stored.otids[i] for i in (0, 2, 3)]
    assert all(uuid.UUID(otid).version == 4 for otid in chosen)
    assert len(set(stored.otids)) == 4
    sent, options = decode_request(stored.request)
    assert sent == [
        {"role": "user", "content": "a", "otid": stored.otids[0]},
        {"role": "user", "content": "b", "otid": "mine"},
        {"role": "user", "content": "c", "otid": stored.otids[2]},
        {"role": "user", "content": "d", "otid": stored.otids[3]},
    ]
    assert options == {"max_steps": 3}
    assert messages[0] == {"role": "user", "content": "a"}  # the caller's dict is left alone


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"background": False}, "background"),
        ({"resumable": True}, "resumable"),
        ({"cancel_on_exit": True}, "cancel_on_exit"),
        ({"include_pings": False}, "include_pings"),
        ({"include_pings": True, "background": True, "max_steps": 2}, "background, include_pings"),
    ],
)
async def test_options_the_durable_layer_sets_itself_are_refused(
    tmp_path: Path, options: dict[str, object], named: str
) -> None:
    async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
        with pytest.raises(ValueError) as refused:
            await submit(store, "k", AGENT, messages=[{"role": "user", "content": "a"}], **options)
        assert await store.get("k") is None
    assert str(refused.value) == f"durable sends set {named} themselves"


async def test_a_send_without_messages_or_with_a_bare_string_is_refused(tmp_path: Path) -> None:
    async with SQLiteCursorStore(tmp_path / "cursors.db") as store:
        with pytest.raises(ValueError) as empty:
            await submit(store, "k", AGENT, messages=[])
        with pytest.raises(TypeError) as text:
            await submit(store, "k", AGENT, messages=["hello"])
        assert await store.get("k") is None
    assert str(empty.value) == "a durable send needs at least one message"
    assert str(text.value) == "a message must be a dict or a request struct, got <class 'str'>"
