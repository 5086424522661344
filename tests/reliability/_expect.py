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

from letta_async._decode import MessageDecoder
from letta_async.sse import SSEDecoder
from letta_async.testing import RunRecord
from letta_async.types import LettaPing
from tests.reliability._tally import event_key

_decoder = MessageDecoder()


def run_events(run: RunRecord) -> list[bytes]:
    """Keys of the events a caller must get for ``run``, in order."""
    sse = SSEDecoder()
    out: list[bytes] = []
    for frame in run.frames:
        if frame.kind == "done":
            continue
        out += [event_key(_decoder.decode(event.data)) for event in sse.feed(frame.data)]
    return out


def delivered(events: Iterable[Any]) -> list[bytes]:
    """Keys of the events a caller got, keep-alive pings left out."""
    return [
        event_key(e)
        for e in events
        if not (isinstance(e, LettaPing) and getattr(e, "seq_id", None) is None)
    ]
