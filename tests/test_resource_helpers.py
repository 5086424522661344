"""The shared machinery under the resources: bodies, queries, uploads, paginators, streams."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from typing import Any

import msgspec
import pytest

from letta_async import APIResponseValidationError, AsyncLetta
from letta_async.resources._common import (
    KeyedPaginator,
    NextCursorPaginator,
    endpoint,
    endpoints_of,
    json_body,
    query_params,
)
from letta_async.resources._upload import encode_multipart, read_file
from letta_async.types._spec import CreateBlock
from tests.replay import ReplayServer, json_answer, sse_answer

pytestmark = pytest.mark.anyio


def test_json_body_leaves_out_unset_fields_and_lists_sequences() -> None:
    block = CreateBlock(value="v", label="l")
    body = json_body(a=None, b=("x", "y"), c="text", d={"k": 1}, e=block, f=False, g=0)
    assert body == {"b": ["x", "y"], "c": "text", "d": {"k": 1}, "e": block, "f": False, "g": 0}


def test_query_params_render_dates_in_iso_8601() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    params = query_params(a=None, since=when, day=date(2026, 1, 2), ids=("x", "y"), n=3)
    assert params == {
        "since": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "ids": ["x", "y"],
        "n": 3,
    }


def test_endpoint_marks_stack_and_keep_the_function() -> None:
    def fn() -> int:
        return 1

    marked = endpoint("get", "/v1/a")(endpoint("POST", "/v1/b")(fn))
    assert marked is fn and marked() == 1
    assert endpoints_of(marked) == (("POST", "/v1/b"), ("GET", "/v1/a"))
    assert endpoints_of(lambda: None) == ()


def test_multipart_body_quotes_names_and_renders_fields() -> None:
    body, content_type = encode_multipart(
        {"flag": True, "skip": None, "name": "x"},
        {"file": ('we"ird\r\n.txt', b"\x00bytes", "application/octet-stream")},
    )
    boundary = content_type.split("boundary=", 1)[1]
    assert content_type.startswith("multipart/form-data; boundary=")
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert body.endswith(f"--{boundary}--\r\n".encode())
    assert b'name="flag"\r\n\r\ntrue\r\n' in body
    assert b"skip" not in body
    assert b'filename="we%22ird%0D%0A.txt"' in body, "no header injection through a filename"
    assert b"\r\n\r\n\x00bytes\r\n" in body


async def test_read_file_accepts_bytes_paths_files_and_tuples(tmp_path: Any) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b"{}")
    assert await read_file(b"raw", "default") == ("default", b"raw", "application/octet-stream")
    assert await read_file(path, "default") == ("doc.json", b"{}", "application/json")
    with path.open("rb") as handle:
        assert await read_file(handle, "default") == ("doc.json", b"{}", "application/json")
    assert await read_file(io.BytesIO(b"x"), "d.txt") == ("d.txt", b"x", "text/plain")
    assert await read_file(("a.bin", b"1", "x/y"), "d") == ("a.bin", b"1", "x/y")


async def test_keyed_paginator_uses_the_item_as_cursor() -> None:
    pages = {None: ["a", "b"], "b": ["c", "d"], "d": ["e"]}
    seen: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> list[str]:
        seen.append(params)
        return pages[params.get("after")]

    paginator = KeyedPaginator(fetch, {"limit": 2}, cursor=lambda tag: tag)
    assert [t async for t in paginator] == ["a", "b", "c", "d", "e"]
    assert [p.get("after") for p in seen] == [None, "b", "d"]
    assert await KeyedPaginator(fetch, {"limit": 2}, cursor=lambda tag: tag) == ["a", "b"]


async def test_next_cursor_paginator_stops_when_the_server_says_so() -> None:
    answers = [(["a"], "c1", True), (["b"], "c2", True), (["c"], None, False)]
    seen: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> tuple[list[str], str | None, bool]:
        seen.append(params)
        return answers[len(seen) - 1]

    assert [x async for x in NextCursorPaginator(fetch, {"limit": 1})] == ["a", "b", "c"]
    assert [p.get("cursor") for p in seen] == [None, "c1", "c2"]


async def test_single_page_listing_is_fetched_once(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/models/", always=json_answer([]))
    models = [
        {"name": "m", "provider_type": "openai", "max_context_window": 1, "handle": f"p/m{i}"}
        for i in range(3)
    ]
    replay.on("GET", "/v1/models/", json_answer(models))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        handles = [m.handle async for m in client.models.list()]
    assert handles == ["p/m0", "p/m1", "p/m2"]
    assert len(replay.seen("GET", "/v1/models/")) == 1, "no second request without a cursor"


async def test_leaving_an_event_stream_early_releases_the_connection(
    replay: ReplayServer,
) -> None:
    chunk = b'data: {"id":"c","created":1,"model":"m","choices":[]}\n\n'
    replay.on("POST", "/v1/chat/completions", sse_answer(chunk * 50, chunk=len(chunk), delay=0.01))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        async with client.chat.completions.stream(model="agent-x", messages=[]) as stream:
            async for _ in stream:
                break
        session = client.session
        assert session is not None and session.connector is not None
        assert not session.connector._acquired  # type: ignore[attr-defined]
        assert not stream.completed


async def test_event_stream_ends_on_done_and_reports_shape_errors(replay: ReplayServer) -> None:
    replay.on(
        "GET",
        "/v1/mcp-servers/connect/s",
        sse_answer(b'data: {"a": 1}\n\ndata: [DONE]\n\ndata: {"ignored": true}\n\n'),
    )
    replay.on("GET", "/v1/mcp-servers/connect/t", sse_answer(b"data: [1, 2]\n\n"))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        stream = client.mcp_servers.connect("s")
        assert await stream.until_done() == [{"a": 1}]
        assert stream.completed
        with pytest.raises(APIResponseValidationError):
            await client.mcp_servers.connect("t").until_done()


def test_generated_request_structs_encode_only_what_was_set() -> None:
    encoded = msgspec.json.encode(CreateBlock(value="v", label="human", limit=10))
    assert msgspec.json.decode(encoded) == {"value": "v", "label": "human", "limit": 10}
