"""A run's whole background log read with raw aiohttp, independently of the client under test.

The resume tests (local and on the real server) take their expected events from here: what
the server's own replay of a finished run holds, numbered as the server numbers it.
"""

from __future__ import annotations

import json

import aiohttp
import anyio

Frame = tuple[int, str, str | None]
"""``(number, message_type or "[DONE]", stop_reason)`` of one replayed entry."""


async def full_replay(base_url: str, run_id: str, *, bound: float) -> list[Frame]:
    """Every entry of a finished run up to its final one, read within ``bound`` seconds.

    Entries without a ``seq_id`` (stop reason, usage, ``[DONE]``) take the number after the
    one before them, as the server counts them.
    """
    frames: list[Frame] = []
    number = 0
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base_url}/v1/runs/{run_id}/stream",
            json={"starting_after": 0, "include_pings": False},
        ) as response,
    ):
        assert response.status == 200
        with anyio.fail_after(bound):
            body = (await response.read()).decode()
    for block in body.split("\n\n"):
        data = next((line[6:] for line in block.splitlines() if line.startswith("data: ")), None)
        if data is None:
            continue
        if data == "[DONE]":
            number += 1
            frames.append((number, "[DONE]", None))
            continue
        frame = json.loads(data)
        seq = frame.get("seq_id")
        number = seq if isinstance(seq, int) else number + 1
        frames.append((number, frame["message_type"], frame.get("stop_reason")))
    return frames


def events_after(frames: list[Frame], position: int) -> list[Frame]:
    """The events a resume from ``position`` must bring: ``[DONE]`` is no event."""
    return [frame for frame in frames if frame[0] > position and frame[1] != "[DONE]"]
