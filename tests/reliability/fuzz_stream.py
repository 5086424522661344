"""Coverage-guided fuzzing of the stream decoders, for long runs outside the test suite.

The property tests run a few hundred examples on every ``pytest``; this target is for hours::

    python -m pip install atheris
    python tests/reliability/fuzz_stream.py -max_total_time=3600 corpus/

Without atheris, ``python tests/reliability/fuzz_stream.py --smoke 20000`` feeds random and
mutated-capture inputs instead (no coverage guidance, but the same checks).

An input is one stream: its first byte picks the chunk size, its second byte the limits, the
rest is the bytes the server sent. The checks:

* the SSE decoder raises nothing but ``EventTooLargeError`` / ``LineTooLongError``, and the
  events (and error) are the same fed whole and fed in chunks;
* every event's data decodes to a typed struct, an ``UnknownMessage``, or raises
  ``MessageDecodeError``; nothing else.
"""

from __future__ import annotations

import contextlib
import random
import sys
from pathlib import Path
from typing import Any

from letta_async import EventTooLargeError, LineTooLongError, MessageDecodeError
from letta_async._decode import MessageDecoder
from letta_async.sse import SSEDecoder

_decoder = MessageDecoder()
_LIMITS = [(16 * 1024 * 1024, None), (64, 32), (1, 1), (4096, 100)]


def _run(stream: bytes, size: int, limits: tuple[int, int | None]) -> tuple[list[Any], Any]:
    decoder = SSEDecoder(max_event_size=limits[0], max_line_length=limits[1])
    events: list[Any] = []
    try:
        for i in range(0, len(stream), size):
            events += decoder.feed(stream[i : i + size])
        events += decoder.close()
    except (EventTooLargeError, LineTooLongError) as exc:
        return events, type(exc)
    return events, None


def check_input(data: bytes) -> None:
    """One fuzz input; raises AssertionError (or an unexpected exception) on a finding."""
    if len(data) < 2:
        return
    size = data[0] % 64 + 1
    limits = _LIMITS[data[1] % len(_LIMITS)]
    stream = data[2:]
    whole = _run(stream, max(len(stream), 1), limits)
    chunked = _run(stream, size, limits)
    assert whole == chunked, "chunking changed the events or the error"
    for event in whole[0]:
        if event.data == "[DONE]":
            continue
        with contextlib.suppress(MessageDecodeError):  # the one error a frame may raise
            _decoder.decode(event.data)


def _smoke(rounds: int) -> None:
    captures = [
        p.read_bytes() for p in sorted((Path(__file__).parent.parent / "fixtures").glob("*.sse"))
    ]
    rng = random.Random(0)
    for _ in range(rounds):
        if rng.random() < 0.5:
            data = bytearray(rng.choice(captures))
            for _ in range(rng.randint(0, 8)):
                if data:
                    data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            data = bytearray(rng.randbytes(rng.randint(0, 300)))
        check_input(bytes([rng.randrange(256), rng.randrange(256)]) + bytes(data))
    print(f"{rounds} inputs checked, no finding")


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--smoke":
        _smoke(int(sys.argv[2]) if len(sys.argv) > 2 else 10_000)
        return 0
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        print("atheris is not installed: pip install atheris, or run with --smoke N")
        return 2
    atheris.instrument_all()
    atheris.Setup(sys.argv, check_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
