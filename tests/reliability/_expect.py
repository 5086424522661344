"""What a caller must receive, computed from what the server really produced.

The test server logs every frame a run produces (``server.state.runs[run_id].frames``); a
client that loses nothing and repeats nothing hands its caller exactly those frames, minus
``[DONE]``, plus keep-alive pings. Keep-alive pings are written per connection and never
logged, so they are left out of the comparison; the numbered ping of a background run
(``seq_id`` 1) is logged and stays in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from letta_async.testing import RunRecord
from letta_async.types import LettaPing
from tests.reliability._tally import event_key, wire_key


def run_events(run: RunRecord) -> list[bytes]:
    """Keys of the events a caller must get for ``run``, in order.

    Read from the logged bytes with plain string handling and ``json.loads``: neither this
    client's SSE decoder nor its message decoder has a say in what is expected.
    """
    out: list[bytes] = []
    for frame in run.frames:
        if frame.kind == "done":
            continue
        for line in frame.data.decode("utf-8").split("\n"):
            if line.startswith("data: "):
                out.append(wire_key(line[len("data: ") :]))
    return out


def delivered(events: Iterable[Any]) -> list[bytes]:
    """Keys of the events a caller got, keep-alive pings left out."""
    return [
        event_key(e)
        for e in events
        if not (isinstance(e, LettaPing) and getattr(e, "seq_id", None) is None)
    ]
