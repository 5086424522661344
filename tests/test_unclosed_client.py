"""A client that is never closed goes quietly, as the official client does.

Programs written for the official SDK often build ``AsyncLetta()`` at the top and never close
it; with httpx that is silent. aiohttp would print "Unclosed client session" and "Unclosed
connector" on standard error when such a client is collected or the program exits, so every
one of those programs would print something new after switching. The program here is run in a
fresh interpreter, as a user runs it (default warning filters: under ``-X dev`` both clients
leave Python's own "unclosed transport" notes), against the bundled server on loopback.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import asyncio, gc
    from letta_async import AsyncLetta
    from letta_async.testing import BackgroundLettaServer

    async def main(url: str) -> None:
        client = AsyncLetta(base_url=url)
        await client.agents.create(name="never-closed")
        print(len((await client.agents.list()).items))
        dropped = AsyncLetta(base_url=url)
        await dropped.health()
        del dropped
        gc.collect()  # the second client is collected here, the first at exit

    with BackgroundLettaServer() as server:
        asyncio.run(main(server.base_url))
    """
)


def test_a_client_never_closed_prints_nothing_on_collection_or_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1\n"
    assert done.stderr == ""
