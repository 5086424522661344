"""The one path every non-streaming call takes: options in, typed result (or raw response) out.

Resource methods are thin: they name the route, build the body and query from their
parameters (leaving :data:`omit` values for this module to drop) and say what to decode into.
Everything a caller can vary per call (``extra_headers``, ``extra_query``, ``extra_body``,
``timeout``, and ``max_retries`` through ``with_options``) is applied here, once, the same way
for every method, and so is the raw-response mode of ``with_raw_response``.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from . import _observe
from ._config import Timeout, TimeoutLike
from ._decode import shared_decoder
from ._http import HTTPResponse
from ._pagination import (
    AsyncArrayPage,
    AsyncNextFilesPage,
    AsyncObjectPage,
    AsyncPaginator,
    BasePage,
    CursorRule,
    rule_for_path,
)
from ._response import AsyncAPIResponse, response_mode
from ._retry import Locator, RequestKind
from ._transport import PreparedRequest, decode_body, encode_json
from ._types import NotGiven, Omit, RequestOptions, not_given
from ._urls import template_of
from .types import LettaResponse, LettaStreamingResponse, StreamEvent

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["Funnel", "make_request_options", "strip_omitted"]

T = TypeVar("T")

_json_any = msgspec.json.Decoder()


def strip_omitted(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A body or query without the keys whose value is :data:`omit`.

    ``None`` stays: it is the caller saying "null". A bare ``str`` handed to a list
    parameter is not quietly turned into a list of characters: msgspec encodes it as a
    string and the server refuses it with a 422 naming the field.
    """
    if not values:
        return {}
    return {k: v for k, v in values.items() if not isinstance(v, Omit | NotGiven)}


def make_request_options(
    *,
    query: Mapping[str, object] | None = None,
    extra_headers: Mapping[str, str | Omit] | None = None,
    extra_query: Mapping[str, object] | None = None,
    extra_body: object | None = None,
    timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
) -> RequestOptions:
    """The per-call part of a request, as every resource method passes it on."""
    options: RequestOptions = {}
    params = strip_omitted(query)
    if extra_query:
        params.update(extra_query)
    if params:
        options["params"] = params
    if extra_headers:
        options["headers"] = extra_headers
    if extra_body is not None:
        if not isinstance(extra_body, Mapping):
            raise TypeError(f"extra_body must be a mapping, got {type(extra_body).__name__}")
        options["extra_json"] = extra_body
    if not isinstance(timeout, NotGiven):
        options["timeout"] = timeout  # type: ignore[typeddict-item]
    return options


_OPTION_KEYS = frozenset(RequestOptions.__annotations__)


def _check_options(options: Mapping[str, object]) -> None:
    """Refuse a per-call option this client does not know, rather than ignore a typo.

    ``idempotency_key`` is known and deliberately unused: the official SDK accepts it and
    sends nothing for it either, because Letta's API names no idempotency header.
    """
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        raise TypeError(f"unknown request options {sorted(unknown)}; known: {sorted(_OPTION_KEYS)}")


_MESSAGE_UNIONS: frozenset[Any] = frozenset()


def _is_message_union(model: Any) -> bool:
    """Message listings decode item by item when needed (see :mod:`letta_async._decode`)."""
    global _MESSAGE_UNIONS
    if not _MESSAGE_UNIONS:
        from . import types

        unions = {LettaStreamingResponse, StreamEvent}
        for name in ("LettaMessageUnion", "Message"):
            value = getattr(types, name, None)
            if value is not None:
                unions.add(value)
        _MESSAGE_UNIONS = frozenset(unions)
    return model in _MESSAGE_UNIONS


def _wants_response(cast_to: Any) -> bool:
    """``HTTPResponse``, or an httpx ``Response`` class (as official programs pass)."""
    if cast_to is HTTPResponse:
        return True
    return (
        getattr(cast_to, "__name__", None) == "Response"
        and str(getattr(cast_to, "__module__", "")).split(".")[0] == "httpx"
    )


class _FilesPageBody(msgspec.Struct, kw_only=True):
    files: list[msgspec.Raw]
    next_cursor: str | None = None
    has_more: bool | None = None


class _ObjectPageBody(msgspec.Struct, kw_only=True):
    messages: list[msgspec.Raw]


class Funnel:
    """Turns a method's route, body and options into one transport call."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    # --- building the request ---------------------------------------------------------------

    def prepare(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        options: RequestOptions | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        stream: bool = False,
        kind: RequestKind | None = None,
        locate: Locator | None = None,
    ) -> PreparedRequest:
        """A :class:`PreparedRequest` with the per-call options applied.

        ``kind`` says what sending it twice would do (see :mod:`letta_async._retry`); left
        out, the method decides, and a ``POST`` counts as creating something.
        """
        opts = options or {}
        if opts:
            _check_options(opts)
        headers: dict[str, str] = {}
        dropped: set[str] = set()
        for name, value in (opts.get("headers") or {}).items():
            if isinstance(value, Omit):
                dropped.add(name.lower())
            else:
                headers[name] = str(value)
        extra_json = opts.get("extra_json")
        if isinstance(body, Omit | NotGiven):
            body = None
        if content is None and (body is not None or extra_json):
            if isinstance(body, Mapping) or body is None:
                payload: Any = strip_omitted(body)
                if extra_json:
                    payload.update(extra_json)
            else:
                payload = body
            content = encode_json(payload)
        if content_type is not None:
            headers["Content-Type"] = content_type
        timeout = opts.get("timeout", not_given)
        return PreparedRequest(
            method.upper(),
            path,
            params=opts.get("params") or None,
            body=content,
            headers=headers,
            stream=stream,
            drop_headers=frozenset(dropped),
            timeout=None if isinstance(timeout, NotGiven) else Timeout.coerce(timeout),
            max_retries=opts.get("max_retries"),
            follow_redirects=opts.get("follow_redirects"),
            kind=kind,
            locate=locate,
        )

    # --- decoding the answer ----------------------------------------------------------------

    def decode(self, raw: bytes, cast_to: Any, method: str, url: str) -> Any:
        """``raw`` as ``cast_to``, the way the official SDK reads each kind of result."""
        if cast_to is None or cast_to is type(None):
            return None
        if cast_to is str:
            return raw.decode("utf-8", "replace")
        if cast_to is bytes:
            return raw
        if cast_to is object or cast_to is Any:
            if not raw.strip():
                return None
            try:
                return _json_any.decode(raw)
            except msgspec.DecodeError:
                return raw.decode("utf-8", "replace")
        if cast_to is LettaResponse:
            return shared_decoder().decode_response(raw)
        if typing.get_origin(cast_to) is list and _is_message_union(typing.get_args(cast_to)[0]):
            return shared_decoder().decode_list(raw)
        return decode_body(raw, cast_to, method, url)

    # --- one call ---------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast_to: Any,
        body: Any = None,
        options: RequestOptions | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        post_parser: Callable[[Any], Any] | None = None,
        kind: RequestKind | None = None,
        locate: Locator | None = None,
    ) -> Any:
        """Send, check, decode; or hand out a raw response when a wrapper asked for one."""
        request = self.prepare(
            method,
            path,
            body=body,
            options=options,
            content=content,
            content_type=content_type,
            kind=kind,
            locate=locate,
        )
        full_url = self._transport.url(path)
        url = str(full_url)

        def parse(raw: bytes) -> Any:
            result = self.decode(raw, cast_to, request.method, url)
            return post_parser(result) if post_parser is not None else result

        watcher = _observe.observer
        trace = None
        if watcher is not None:
            trace = request.trace = watcher.call(request.method, template_of(path), full_url)
        result: Any
        try:
            mode = response_mode.get()
            if mode == "parsed":
                if _wants_response(cast_to):
                    # ``cast_to=httpx.Response`` asks for the answer itself, not its body.
                    _, result = await self._transport.request_raw(request)
                else:
                    result = parse(await self._transport.request_bytes(request))
            elif mode == "raw":
                _, snapshot = await self._transport.request_raw(request)
                result = AsyncAPIResponse(http_response=snapshot, parser=parse)
            else:
                live, snapshot = await self._transport.open_raw(request)
                result = AsyncAPIResponse(http_response=snapshot, parser=parse, live=live)
        except BaseException as exc:
            if trace is not None:
                trace.end(exc)
            raise
        if trace is not None:
            trace.end(None)
        return result

    # --- listings ---------------------------------------------------------------------------

    def paginate(
        self,
        path: str,
        *,
        page: Any,
        model: Any,
        options: RequestOptions | None = None,
        rule: CursorRule = "ordered",
        method: str = "GET",
        body: Any = None,
    ) -> AsyncPaginator[Any, Any]:
        """A lazy paginator over ``path``; each page is fetched with the same options."""
        page_cls = typing.get_origin(page) or page
        base: dict[str, Any] = dict(options or {})
        first_params: dict[str, Any] = dict(base.pop("params", None) or {})
        messages = _is_message_union(model)
        item_list: Any = list[model]

        def items_of(raws: list[msgspec.Raw], url: str) -> list[Any]:
            joined = b"[" + b",".join(bytes(r) for r in raws) + b"]"
            items: list[Any] = self.decode(joined, item_list, method, url)
            return items

        def build(decoded: Any, url: str) -> BasePage[Any]:
            if page_cls is AsyncNextFilesPage:
                return AsyncNextFilesPage(
                    items_of(decoded.files, url), decoded.next_cursor, decoded.has_more
                )
            if page_cls is AsyncObjectPage:
                return AsyncObjectPage(items_of(decoded.messages, url))
            return AsyncArrayPage(decoded)

        if page_cls is AsyncNextFilesPage:
            decode_as: Any = _FilesPageBody
        elif page_cls is AsyncObjectPage:
            decode_as = _ObjectPageBody
        else:
            decode_as = item_list
        if messages and page_cls is AsyncArrayPage:
            decode_as = item_list

        async def load(params: dict[str, Any]) -> Any:
            call_options: Any = {**base, "params": params}
            url = str(self._transport.url(path))
            return await self.request(
                method,
                path,
                cast_to=decode_as,
                body=body,
                options=call_options,
                post_parser=lambda decoded: paginator.adopt(build(decoded, url), params),
                kind="read",  # a listing, whatever its method: searches are POSTs
            )

        paginator: AsyncPaginator[Any, Any] = AsyncPaginator(
            load, first_params, rule=rule_for_path(rule, path)
        )
        return paginator
