"""mypy and pyright accept official-SDK code that reads requests, URLs and httpx timeouts.

Each checker checks a program written as official-SDK code reads ``e.request.url``,
``raw.http_request`` and passes an ``httpx.Timeout``-shaped object (it must be clean), and one
with mistakes (a timeout that is a string, a URL used as ``str``) that must be caught, so a
clean result cannot come from a checker seeing ``Any``.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_typing_idioms import CHECKERS, requires_checker

GOOD = """
from letta_async import APIConnectionError, AsyncLetta, NotFoundError


class Deadlines:
    # What httpx.Timeout looks like to a type checker: four optional floats.
    def __init__(self) -> None:
        self.connect: float | None = 5.0
        self.read: float | None = 30.0
        self.write: float | None = 30.0
        self.pool: float | None = None


async def main() -> None:
    async with AsyncLetta(environment="local", base_url=None, timeout=Deadlines()) as client:
        try:
            await client.agents.retrieve("agent-1", timeout=Deadlines())
        except NotFoundError as err:
            path: str = err.request.url.path
            host: str = err.request.url.host
            port: int | None = err.request.url.port
            query: bytes = err.request.url.query
            limit: str | None = err.request.url.params.get("limit")
            vary: list[str] = err.response.headers.get_list("vary")
            same: bool = err.response.url == "http://localhost:8283/v1/agents/agent-1"
            print(path, host, port, query, limit, vary, same, err.message, err.body)
        except APIConnectionError as err:
            print(err.message, err.request.method, err.request.url.raw_path)
        raw = await client.agents.with_raw_response.retrieve("agent-1")
        print(raw.http_request.url.path, raw.http_response.url.scheme, raw.url.host)
        print(raw.http_response.raise_for_status().status_code, raw.elapsed.total_seconds())
        print(client.base_url.host)
"""

BAD = """
from letta_async import AsyncLetta, NotFoundError


async def main() -> None:
    async with AsyncLetta(timeout="soon") as client:
        try:
            await client.agents.retrieve("agent-1")
        except NotFoundError as err:
            print(err.request.url.startswith("http"))
"""


@requires_checker
def test_request_and_timeout_idioms_type_check_and_mistakes_do_not(
    tmp_path: Path, checker: str
) -> None:
    good, bad = CHECKERS[checker](tmp_path, GOOD, BAD)
    assert good == [], "\n".join(good)
    assert any(":6: error:" in line and "timeout" in line for line in bad), "\n".join(bad)
    assert any(":10: error:" in line and "startswith" in line for line in bad), "\n".join(bad)
