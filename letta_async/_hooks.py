"""Observation points for tracing and metrics, without a tracing dependency.

aiohttp's ``TraceConfig`` sees sockets and bytes; it cannot see what only this client knows:
that a call is a retry, or that a stream resumed a run after a given ``seq_id``. These hooks
report exactly those moments. Each hook may be a plain function or a coroutine function; a
hook that raises is logged and otherwise ignored, so observability never breaks a stream.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hooks"]

logger = logging.getLogger("letta_async")

RequestHook = Callable[[str, str], Awaitable[None] | None]
"""``(method, url)`` before every HTTP attempt."""
RetryHook = Callable[[str, int, float, BaseException], Awaitable[None] | None]
"""``(what, attempt, delay_seconds, error)`` before sleeping for a retry."""
ResumeHook = Callable[[str, "int | None", int], Awaitable[None] | None]
"""``(run_id, starting_after, attempt)`` before a stream reconnects to its run."""


@dataclass
class Hooks:
    """Callbacks the client calls at request, retry and resume time."""

    on_request: list[RequestHook] = field(default_factory=list)
    on_retry: list[RetryHook] = field(default_factory=list)
    on_resume: list[ResumeHook] = field(default_factory=list)

    async def _call(self, hooks: list[Any], *args: Any) -> None:
        for hook in hooks:
            try:
                result = hook(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("letta_async hook %r failed", hook)

    async def emit_request(self, method: str, url: str) -> None:
        """Report an HTTP attempt about to be sent."""
        if self.on_request:
            await self._call(self.on_request, method, url)

    async def emit_retry(self, what: str, attempt: int, delay: float, error: BaseException) -> None:
        """Report a failed attempt that will be retried after ``delay`` seconds."""
        if self.on_retry:
            await self._call(self.on_retry, what, attempt, delay, error)

    async def emit_resume(self, run_id: str, starting_after: int | None, attempt: int) -> None:
        """Report a stream reconnecting to its run after ``starting_after``."""
        if self.on_resume:
            await self._call(self.on_resume, run_id, starting_after, attempt)
