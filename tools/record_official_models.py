"""Record how the official SDK reads every captured server answer, field by field.

Run with an interpreter that has ``letta-client==1.12.1`` installed (never a dependency of
this package)::

    python tools/record_official_models.py > tests/fixtures/official_models.json

Each successful capture in ``tests/fixtures`` is served byte for byte from loopback and read
by the official ``AsyncLetta`` through the public method a program would call for it
(:data:`tools.model_calls.CALLS`). What the program then sees is written down as a tree:
for every model its class (as the path a program imports it from) and each field's value
as attribute access returns it, nested models, lists and dicts included, datetimes in ISO
form. ``tests/test_official_models.py`` runs the same calls against this client and
compares the trees.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import letta_client
import pydantic

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.model_calls import CALLS, Call, capture


def tree(value: Any) -> Any:
    """The value as a program sees it through attribute access, class names included."""
    if isinstance(value, pydantic.BaseModel):
        fields = {name: tree(getattr(value, name)) for name in type(value).model_fields}
        for name, extra in (value.model_extra or {}).items():
            fields[name] = tree(extra)
        return {"__class__": _official_path(type(value)), **fields}
    if isinstance(value, enum.Enum):
        return tree(value.value)
    if isinstance(value, dt.datetime | dt.date):
        return {"__class__": type(value).__name__, "iso": value.isoformat()}
    if isinstance(value, list | tuple):
        return [tree(item) for item in value]
    if isinstance(value, dict):
        return {"__class__": "dict", **{str(k): tree(v) for k, v in value.items()}}
    return value


def _official_path(cls: type) -> str:
    """Where a program imports the class from, relative to ``letta_client.types``."""
    module = cls.__module__.removeprefix("letta_client.types").lstrip(".")
    return f"{module}.{cls.__qualname__}" if module else cls.__qualname__


class Answering:
    """A loopback HTTP server answering every request with the bytes last given to it.

    One server serves a whole run of answers (:meth:`answer` sets the next), so reading a
    few hundred of them costs no server start-up each; both SDKs can be pointed at it.
    """

    def __init__(self) -> None:
        self._current: tuple[int, list[tuple[str, str]], bytes] = (204, [], b"")
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                status, headers, body = owner._current
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """Answer the requests from now on with this status, these headers and this body."""
        self._current = (status, headers, body)

    def __enter__(self) -> Answering:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


async def observe(call: Call, base_url: str) -> Any:
    """Run the call as a program would and return what it saw."""
    client = letta_client.AsyncLetta(base_url=base_url, api_key="k", max_retries=0)
    seen: list[Any] = []
    try:
        result = await eval(call.expression, {"client": client})
        if call.kind == "page":
            return tree(result._get_page_items())
        if call.kind == "stream":
            async for chunk in result:
                seen.append(tree(chunk))
            return seen
        return tree(result)
    except Exception as exc:  # what the program sees is the error, and that is recorded
        raised = {"__raises__": type(exc).__name__}
        return [*seen, raised] if call.kind == "stream" else raised
    finally:
        await client.close()


def main() -> None:
    records: dict[str, Any] = {"source": f"letta-client {letta_client.__version__}"}
    with Answering() as server:
        for name, call in CALLS.items():
            server.answer(*capture(name))
            records[name] = asyncio.run(observe(call, server.url))
    json.dump(records, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
