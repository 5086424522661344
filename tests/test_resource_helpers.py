"""The shared machinery under the resources: options, queries, uploads, pages and event streams."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone
from typing import Any

import msgspec
import pytest
from aiohttp import web

from letta_async import APIResponseValidationError, AsyncLetta, Timeout, not_given, omit
from letta_async._funnel import make_request_options, strip_omitted
from letta_async._pagination import AsyncArrayPage, AsyncNextFilesPage, AsyncPaginator
from letta_async.resources._upload import encode_multipart, read_file
from letta_async.types._spec import CreateBlock
from tests.replay import ReplayServer, json_answer, sse_answer

pytestmark = pytest.mark.anyio


def test_strip_omitted_drops_the_sentinels_and_keeps_null() -> None:
    body = {"a": omit, "b": None, "c": 0, "d": False, "e": [], "f": not_given}
    assert strip_omitted(body) == {"b": None, "c": 0, "d": False, "e": []}
    assert strip_omitted(None) == {}


def test_request_options_merge_extra_query_over_the_method_query() -> None:
    options = make_request_options(
        query={"limit": 5, "after": omit, "order": "asc"},
        extra_query={"order": "desc", "x": 1},
        extra_headers={"X-A": "1", "X-B": omit},
        extra_body={"k": "v"},
        timeout=2.5,
    )
    assert options == {
        "params": {"limit": 5, "order": "desc", "x": 1},
        "headers": {"X-A": "1", "X-B": omit},
        "extra_json": {"k": "v"},
        "timeout": 2.5,
    }
    # Nothing given, nothing set: the client's own settings apply.
    assert make_request_options(query={"after": omit}) == {}
    assert make_request_options(timeout=None) == {"timeout": None}, "None: no deadline at all"
    with pytest.raises(TypeError, match="extra_body must be a mapping"):
        make_request_options(extra_body=["not", "a", "mapping"])


async def test_query_values_render_as_the_server_reads_them(replay: ReplayServer) -> None:
    route = "/v1/agents/agent-1/archival-memory/search"
    raw_queries: list[str] = []

    async def search(request: web.Request) -> web.StreamResponse:
        raw_queries.append(request.rel_url.raw_query_string)
        return web.json_response({"results": [], "count": 0})

    replay.on("GET", route, search)
    replay.on("GET", "/v1/anything", json_answer({}))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        await client.agents.passages.search(
            "agent-1", query="q", tags=["x", "y"], start_datetime=when, top_k=3
        )
        params = {"day": date(2026, 1, 2), "f": False}
        await client.get("/v1/anything", cast_to=object, options={"params": params})
    # Lists repeat the key; datetimes are ISO 8601, as the official SDK sends them.
    assert raw_queries == [
        "query=q&start_datetime=2026-01-02T03:04:05%2B00:00&tags=x&tags=y&top_k=3"
    ]
    assert replay.seen("GET", "/v1/anything")[0].query == {"day": "2026-01-02", "f": "false"}


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


async def test_string_items_page_by_the_item_itself() -> None:
    pages = {None: ["a", "b"], "b": ["c", "d"], "d": ["e"], "e": []}
    seen: list[dict[str, Any]] = []

    async def load(params: dict[str, Any]) -> AsyncArrayPage[str]:
        seen.append(params)
        return AsyncArrayPage(pages[params.get("after")])

    assert [t async for t in AsyncPaginator(load, {"limit": 2})] == ["a", "b", "c", "d", "e"]
    assert [p.get("after") for p in seen] == [None, "b", "d", "e"], "the empty page ends it"
    first = await AsyncPaginator(load, {"limit": 2})
    assert first.items == ["a", "b"] and first.has_next_page()
    info = first.next_page_info()
    assert info is not None and info.params == {"after": "b"}


async def test_files_pages_stop_when_the_server_says_there_are_no_more() -> None:
    answers = [
        AsyncNextFilesPage([{"id": "f1"}], "c1", True),
        AsyncNextFilesPage([{"id": "f2"}], None, False),
    ]
    seen: list[dict[str, Any]] = []

    async def load(params: dict[str, Any]) -> AsyncNextFilesPage[dict[str, str]]:
        seen.append(params)
        return answers[len(seen) - 1]

    walked = [f["id"] async for f in AsyncPaginator(load, {"limit": 1})]
    assert walked == ["f1", "f2"]
    assert [p.get("after") for p in seen] == [None, "f1"]
    assert not answers[1].has_next_page()


async def test_a_plain_list_method_sends_one_request(replay: ReplayServer) -> None:
    replay.on("GET", "/v1/models/", always=json_answer([]))
    models = [
        {"name": "m", "provider_type": "openai", "max_context_window": 1, "handle": f"p/m{i}"}
        for i in range(3)
    ]
    replay.on("GET", "/v1/models/", json_answer(models))
    async with AsyncLetta(replay.base_url, max_retries=0) as client:
        handles = [m.handle for m in await client.models.list()]
    assert handles == ["p/m0", "p/m1", "p/m2"]
    assert len(replay.seen("GET", "/v1/models/")) == 1


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
    async with AsyncLetta(replay.base_url, max_retries=0, timeout=Timeout(stream_idle=5)) as c:
        stream = c.mcp_servers.connect("s")
        assert await stream.until_done() == [{"a": 1}]
        assert stream.completed
        with pytest.raises(APIResponseValidationError):
            await c.mcp_servers.connect("t").until_done()
    (seen,) = replay.seen("GET", "/v1/mcp-servers/connect/s")
    assert seen.headers["Accept"] == "text/event-stream"


def test_generated_request_structs_encode_only_what_was_set() -> None:
    encoded = msgspec.json.encode(CreateBlock(value="v", label="human", limit=10))
    assert msgspec.json.decode(encoded) == {"value": "v", "label": "human", "limit": 10}
