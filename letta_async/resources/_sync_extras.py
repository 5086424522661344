"""The sync client's forms of the hand-written methods that the resource map does not generate.

Each takes exactly the arguments of its async twin in ``_sending.py`` or ``_chat.py`` and runs
it on the client's loop thread; a test compares the signatures, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from .._config import Timeout, TimeoutLike
from .._stream import ResumeSettings
from .._sync import SyncAPIResource
from .._sync_stream import SyncJsonEventStream, SyncMessageStream
from .._types import NotGiven, Omit, not_given, omit

if TYPE_CHECKING:
    from ..types import Run
    from ..types._spec import ChatCompletion, ChatCompletionMessageParamUnion
    from ._chat import ChatCompletionChunk

__all__ = ["SyncBatchSending", "SyncChatCompletionSending", "SyncRunFollowing"]


class SyncRunFollowing(SyncAPIResource):
    """``client.runs.stream`` (resume from a saved position) and ``client.runs.wait``."""

    def stream(
        self,
        run_id: str,
        *,
        starting_after: int | None = None,
        include_pings: bool = True,
        poll_interval: float | None = None,
        batch_size: int | None = None,
        resume: ResumeSettings | None = None,
        errors_as_events: bool = False,
    ) -> SyncMessageStream:
        """Follow a background run from after ``starting_after`` (its replay, then live).

        Persist ``stream.run_id`` and ``stream.last_seq_id`` as you go; after a restart pass
        them here to carry on with no event lost or repeated.
        """
        result: SyncMessageStream = self._call(
            self._target.stream,
            run_id,
            starting_after=starting_after,
            include_pings=include_pings,
            poll_interval=poll_interval,
            batch_size=batch_size,
            resume=resume,
            errors_as_events=errors_as_events,
        )
        return result

    def wait(self, run_id: str, *, poll_interval: float = 1.0, timeout: float | None = None) -> Run:
        """Poll until the run is completed, failed or cancelled, and return it."""
        result: Run = self._call(
            self._target.wait, run_id, poll_interval=poll_interval, timeout=timeout
        )
        return result


class SyncBatchSending(SyncAPIResource):
    """Submitting message batches: ``client.batches.create``."""

    def create(
        self,
        *,
        requests: Sequence[Mapping[str, Any] | msgspec.Struct],
        callback_url: str | Omit | None = omit,
        extra_headers: Mapping[str, str | Omit] | None = None,
        extra_query: Mapping[str, object] | None = None,
        extra_body: object | None = None,
        timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
    ) -> Any:
        """Submit one request per agent; ``callback_url`` is POSTed the job when it finishes."""
        return self._call(
            self._target.create,
            requests=requests,
            callback_url=callback_url,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
            timeout=timeout,
        )


class SyncChatCompletionSending(SyncAPIResource):
    """``client.chat.completions`` of the sync client."""

    def stream(
        self,
        *,
        model: str,
        messages: Sequence[ChatCompletionMessageParamUnion | Mapping[str, Any]],
        temperature: float | None = None,
        top_p: float | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        max_tokens: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> SyncJsonEventStream[ChatCompletionChunk]:
        """Send the conversation and stream the agent's answer as OpenAI chunks."""
        result: SyncJsonEventStream[ChatCompletionChunk] = self._call(
            self._target.stream,
            model=model,
            messages=messages,
            temperature=temperature,
            top_p=top_p,
            n=n,
            stop=stop,
            max_tokens=max_tokens,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            user=user,
            extra_body=extra_body,
        )
        return result

    def create(
        self,
        *,
        model: str,
        messages: Sequence[ChatCompletionMessageParamUnion | Mapping[str, Any]],
        temperature: float | None = None,
        top_p: float | None = None,
        n: int | None = None,
        stop: str | Sequence[str] | None = None,
        max_tokens: int | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        user: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> ChatCompletion:
        """The agent's whole answer as one ``ChatCompletion``, built from the streamed chunks."""
        result: ChatCompletion = self._call(
            self._target.create,
            model=model,
            messages=messages,
            temperature=temperature,
            top_p=top_p,
            n=n,
            stop=stop,
            max_tokens=max_tokens,
            presence_penalty=presence_penalty,
            frequency_penalty=frequency_penalty,
            user=user,
            extra_body=extra_body,
        )
        return result
