"""The one path every non-streaming call takes: options in, typed result (or raw response) out.

Resource methods are thin: they name the route, build the body and query from their
parameters (leaving :data:`omit` values for this module to drop) and say what to decode into.
Everything a caller can vary per call (``extra_headers``, ``extra_query``, ``extra_body``,
``timeout``, and ``max_retries`` through ``with_options``) is applied here, once, the same way
for every method, and so is the raw-response mode of ``with_raw_response``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Awaitable, Callable, Mapping
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
from ._transport import PreparedRequest, decode_body, decoder_for, encode_json
from ._types import NotGiven, Omit, RequestOptions, not_given, omit
from ._urls import template_of
from .types import LettaResponse, LettaStreamingResponse, StreamEvent

if TYPE_CHECKING:
    from ._transport import Transport

__all__ = ["Funnel", "make_request_options", "strip_omitted"]

T = TypeVar("T")

_json_any = msgspec.json.Decoder()


_OMITTED = (Omit, NotGiven)
_NO_OPTIONS: RequestOptions = {}
_NOTHING_DROPPED: frozenset[str] = frozenset()


def strip_omitted(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """A body or query without the keys whose value is :data:`omit`.

    ``None`` stays: it is the caller saying "null". A bare ``str`` handed to a list
    parameter is not quietly turned into a list of characters: msgspec encodes it as a
    string and the server refuses it with a 422 naming the field.
    """
    if not values:
        return {}
    # Most of a method's optional arguments are the shared ``omit``: an identity test
    # settles those before the type check, which only the given values still need.
    return {k: v for k, v in values.items() if v is not omit and not isinstance(v, _OMITTED)}


def make_request_options(
    *,
    query: Mapping[str, object] | None = None,
    extra_headers: Mapping[str, str | Omit] | None = None,
    extra_query: Mapping[str, object] | None = None,
    extra_body: object | None = None,
    timeout: float | Timeout | TimeoutLike | NotGiven | None = not_given,
) -> RequestOptions:
    """The per-call part of a request, as every resource method passes it on."""
    if timeout is not_given and extra_body is None and not (query or extra_headers or extra_query):
        return {}  # how nearly every call comes: nothing to look at
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


Reader = Callable[[bytes, str, object], Any]
"""Turns a 2xx body into a method's result; takes the method and URL (a ``yarl.URL`` or its
text, made into text only when an error needs it) for its errors."""

_readers: dict[Any, Reader] = {}


_answers: dict[Any, bool] = {}


def _answer_wanted(cast_to: Any) -> bool:
    """:func:`_wants_response`, remembered per type."""
    try:
        return _answers[cast_to]
    except KeyError:
        found = _answers[cast_to] = _wants_response(cast_to)
        return found
    except TypeError:
        return _wants_response(cast_to)


_plans: dict[Any, tuple[Reader, bool]] = {}


def _plan_for(cast_to: Any) -> tuple[Reader, bool]:
    """How to read a body as ``cast_to``, and whether the response itself is wanted instead."""
    try:
        return _plans[cast_to]
    except KeyError:
        plan = _plans[cast_to] = (_reader_for(cast_to), _answer_wanted(cast_to))
        return plan
    except TypeError:
        return _reader_for(cast_to), _answer_wanted(cast_to)


def _reader_for(cast_to: Any) -> Reader:
    """How to read a body as ``cast_to``, worked out once per type rather than once per call."""
    try:
        return _readers[cast_to]
    except KeyError:
        pass
    except TypeError:  # an unhashable type: decide each time
        return functools.partial(_decode_with, cast_to)
    reader: Reader
    if cast_to is None or cast_to is type(None) or cast_to in (str, bytes, object, Any):
        reader = functools.partial(_decode_with, cast_to)
    elif cast_to is LettaResponse:
        decode_response = shared_decoder().decode_response  # one process-wide decoder
        reader = lambda raw, method, url: decode_response(raw)  # noqa: E731
    elif typing.get_origin(cast_to) is list and _is_message_union(typing.get_args(cast_to)[0]):
        decode_list = shared_decoder().decode_list
        reader = lambda raw, method, url: decode_list(raw)  # noqa: E731
    else:
        decoder = decoder_for(cast_to)
        reader = functools.partial(_decode_typed, decoder, cast_to)
    _readers[cast_to] = reader
    return reader


def _decode_with(cast_to: Any, raw: bytes, method: str, url: object) -> Any:
    return Funnel._decode_uncached(raw, cast_to, method, str(url))


def _decode_typed(
    decoder: msgspec.json.Decoder[Any], cast_to: Any, raw: bytes, method: str, url: object
) -> Any:
    try:
        return decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        # The error wording lives in one place: decode again there to raise it.
        return decode_body(raw, cast_to, method, str(url))


class _FilesPageBody(msgspec.Struct, kw_only=True):
    files: list[msgspec.Raw]
    next_cursor: str | None = None
    has_more: bool | None = None


class _ObjectPageBody(msgspec.Struct, kw_only=True):
    messages: list[msgspec.Raw]


_page_plans: dict[tuple[Any, Any], tuple[Any, Any, Any]] = {}
# By the page alias's id; each entry holds the alias, so an id stays its own while listed.
_last_plans: dict[int, tuple[Any, Any, tuple[Any, Any, Any]]] = {}


def _page_plan(page: Any, model: Any) -> tuple[Any, Any, Any]:
    """A listing's page class, item list type and what its body decodes as, once per method."""
    # A method subscripts its page class on every call; typing hands back the same alias
    # object each time, and looking it up by identity spares hashing it (in Python).
    last = _last_plans.get(id(page))
    if last is not None and last[0] is page and last[1] is model:
        return last[2]
    key = (page, model)
    plan = _page_plans.get(key)
    if plan is None:
        page_cls = typing.get_origin(page) or page
        item_list: Any = list[model]
        decode_as: Any
        if page_cls is AsyncNextFilesPage:
            decode_as = _FilesPageBody
        elif page_cls is AsyncObjectPage:
            decode_as = _ObjectPageBody
        else:
            decode_as = item_list
        plan = _page_plans[key] = (page_cls, item_list, decode_as)
    _last_plans[id(page)] = (page, model, plan)
    return plan


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
        opts = options or _NO_OPTIONS
        if not opts:
            # No per-call options, as most calls come: only the body is left to look at.
            if content is None and body is not None and not isinstance(body, _OMITTED):
                content = encode_json(strip_omitted(body) if isinstance(body, Mapping) else body)
            return PreparedRequest(
                method if method.isupper() else method.upper(),
                path,
                body=content,
                headers={} if content_type is None else {"Content-Type": content_type},
                stream=stream,
                kind=kind,
                locate=locate,
            )
        if len(opts) == 1 and "params" in opts and body is None and content is None:
            # A page of a listing (or a call with only extra_query): its query, nothing else.
            return PreparedRequest(
                method if method.isupper() else method.upper(),
                path,
                params=opts["params"] or None,
                headers={} if content_type is None else {"Content-Type": content_type},
                stream=stream,
                kind=kind,
                locate=locate,
            )
        if not _OPTION_KEYS.issuperset(opts):
            _check_options(opts)
        headers: dict[str, str] = {}
        dropped: frozenset[str] = _NOTHING_DROPPED
        extra = opts.get("headers")
        if extra:
            names: set[str] = set()
            for name, value in extra.items():
                if isinstance(value, Omit):
                    names.add(name.lower())
                else:
                    headers[name] = str(value)
            dropped = frozenset(names)
        extra_json = opts.get("extra_json")
        if isinstance(body, _OMITTED):
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
            method if method.isupper() else method.upper(),
            path,
            params=opts.get("params") or None,
            body=content,
            headers=headers,
            stream=stream,
            drop_headers=dropped,
            timeout=None if isinstance(timeout, NotGiven) else Timeout.coerce(timeout),
            max_retries=opts.get("max_retries"),
            follow_redirects=opts.get("follow_redirects"),
            kind=kind,
            locate=locate,
        )

    # --- decoding the answer ----------------------------------------------------------------

    def decode(self, raw: bytes, cast_to: Any, method: str, url: str) -> Any:
        """``raw`` as ``cast_to``, the way the official SDK reads each kind of result."""
        return _reader_for(cast_to)(raw, method, url)

    @staticmethod
    def _decode_uncached(raw: bytes, cast_to: Any, method: str, url: str) -> Any:
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
        transport = self._transport
        read, answer_wanted = _plan_for(cast_to)
        watcher = _observe.observer
        if watcher is None and not answer_wanted and response_mode.get() == "parsed":
            # The usual call, untraced and parsed: no closure to build, no trace to end, and
            # the URL made only by the transport (an error here names it as text).
            raw = await transport.request_bytes(request)
            decoded = read(raw, request.method, transport.url_text(path))
            return post_parser(decoded) if post_parser is not None else decoded
        full_url = request.url = transport.url(path)

        def parse(raw: bytes) -> Any:
            result = read(raw, request.method, full_url)
            return post_parser(result) if post_parser is not None else result

        trace = None
        if watcher is not None:
            trace = request.trace = watcher.call(request.method, template_of(path), full_url)
        result: Any
        try:
            mode = response_mode.get()
            if mode == "parsed":
                if answer_wanted:
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
        base: dict[str, Any] = dict(options or {})
        # The paginator keeps its own copy of these (without the None values).
        first_params: dict[str, Any] = base.pop("params", None) or {}
        rule = rule_for_path(rule, path)
        listing = _Listing(self, path, method, body, base, _page_plan(page, model), rule)
        return AsyncPaginator(listing.fetch, first_params, rule=rule, binds=True)


class _Listing:
    """How to fetch one page of a listing: the route, the options and the page's shape.

    It holds no reference to the paginator that uses it, so that neither is left in a
    reference cycle: a listing called in a loop frees its pages and paginators as soon as
    they are dropped, instead of leaving them for the garbage collector.
    """

    __slots__ = ("_base", "_body", "_funnel", "_method", "_path", "_plan", "_rule")

    def __init__(
        self,
        funnel: Funnel,
        path: str,
        method: str,
        body: Any,
        base: dict[str, Any],
        plan: tuple[Any, Any, Any],
        rule: CursorRule,
    ) -> None:
        self._funnel = funnel
        self._path = path
        self._method = method
        self._body = body
        self._base = base
        self._plan = plan
        self._rule = rule

    def fetch(self, params: dict[str, Any]) -> Awaitable[Any]:
        """The page fetched with ``params`` (or its raw response, in raw mode).

        A plain function handing out the funnel's coroutine: a coroutine of its own here
        would only add a frame to every page fetched.
        """
        call_options: Any = {**self._base, "params": params}
        # With no other option and no body, the funnel builds a page's request straight
        # from its query (see Funnel.prepare).
        return self._funnel.request(
            self._method,
            self._path,
            cast_to=self._plan[2],
            body=self._body,
            options=call_options,
            post_parser=functools.partial(self._page, params),
            kind="read",  # a listing, whatever its method: searches are POSTs
        )

    def _page(self, params: dict[str, Any], decoded: Any) -> BasePage[Any]:
        page_cls, item_list, _ = self._plan
        built: BasePage[Any]
        if page_cls is AsyncNextFilesPage:
            items = self._items(decoded.files, item_list)
            built = AsyncNextFilesPage(items, decoded.next_cursor, decoded.has_more)
        elif page_cls is AsyncObjectPage:
            built = AsyncObjectPage(self._items(decoded.messages, item_list))
        else:
            built = AsyncArrayPage(decoded)
        built._bind(self.fetch, params, self._rule)
        return built

    def _items(self, raws: list[msgspec.Raw], item_list: Any) -> list[Any]:
        joined = b"[" + b",".join(bytes(r) for r in raws) + b"]"
        url = str(self._funnel._transport.url(self._path))
        items: list[Any] = self._funnel.decode(joined, item_list, self._method, url)
        return items
