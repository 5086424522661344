"""Write ``docs/api-methods.md``: every official SDK method beside this client's, row by row.

For each method of ``letta_client.AsyncLetta`` 1.12.1 (from ``tools/official_surface.json``)
the table says whether ``letta_async.AsyncLetta`` has it under the same name, whether the
parameters match (names, order, kinds and defaults; keywords this client adds are listed),
and whether the return type is the same class. Every row that differs must carry a reason
from :data:`REASONS`; ``--check`` fails when the file is stale or a reason is missing.

The sync column does the same for ``letta_async.Letta`` against the async row: the official
``letta_client.Letta`` takes exactly the parameters of ``letta_client.AsyncLetta``, method for
method, and answers with the sync form of the same thing (a page for a paginator, a
``Stream`` for an ``AsyncStream``); so a sync method matches when its parameters are this
package's async method's and its answer is the sync form of that method's.

Run ``python tools/gen_method_table.py`` (``nox -s codegen`` does it after the resources).
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SURFACE = ROOT / "tools" / "official_surface.json"
OUTPUT = ROOT / "docs" / "api-methods.md"

STREAM = (
    "returns a `MessageStream`, which is an `AsyncStream[LettaStreamingResponse]` "
    "(iterate it, `async with` it, `await` it to send the request at once) with resume, "
    "cancel and `run_id`/`last_seq_id` on top"
)

REASONS: dict[str, str] = {
    # Official method -> why this client's differs (only for rows that are not identical).
    "agents.messages.stream": "deprecated, as in the official SDK (prefer `create(..., "
    "streaming=True)`); " + STREAM + "; adds `resumable`, `cancel_on_exit`, `poll_interval`, "
    "`resume` and `errors_as_events`",
    "agents.messages.create": "with `streaming=True` " + STREAM + "; same keywords added as "
    "`stream`; never re-sends a message on a retry (see Retries in the README)",
    "conversations.messages.create": "streams by default as the official one does; "
    "`streaming=False` returns the `LettaResponse` (the official method cannot); " + STREAM,
    "conversations.messages.stream": STREAM,
    "runs.messages.stream": STREAM,
    "close": "also closes the aiohttp session the client created (never one passed in)",
    "copy": "the copy shares the original's connection pool, unless given an `http_client` "
    "(`DefaultAsyncHttpxClient(...)`, see the README's migration section: an httpx client is "
    "refused); `environment=` without `base_url=` moves the copy there (the official copy "
    "keeps the original's URL)",
    "with_options": "same as `copy`",
    "get": "`cast_to` may be any msgspec-decodable type; with `stream=True` the answer is a "
    "`MessageStream` (`stream_cls` is not needed)",
    "post": "as `get`; `files=` is not supported (use the upload methods)",
    "patch": "as `get`",
    "put": "as `get`",
    "delete": "as `get`",
    "request": "not offered: it takes the official SDK's internal `FinalRequestOptions`; "
    "`get`/`post`/`patch`/`put`/`delete` cover every route",
    "get_api_list": "`model` and `page` as in the official SDK; pages are this package's",
    "is_closed": "same meaning",
    "messages.search": "same class: the official signature spells out the list its "
    "`MessageSearchResponse` alias names",
    "passages.search": "same class: the official signature spells out the list its "
    "`PassageSearchResponse` alias names",
    "platform_headers": "returns no platform headers: the User-Agent names this client",
}

_DEFAULTS = {"omit": "omit", "not_given": "not_given", "None": "None"}


def _default(param: inspect.Parameter) -> str:
    if param.default is inspect.Parameter.empty:
        return "required"
    value = param.default
    name = type(value).__name__
    if name == "Omit":
        return "omit"
    if name == "NotGiven":
        return "not_given"
    return repr(value)


def _kind(param: inspect.Parameter) -> str:
    return {
        inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
        inspect.Parameter.KEYWORD_ONLY: "keyword_only",
        inspect.Parameter.POSITIONAL_ONLY: "positional_only",
        inspect.Parameter.VAR_KEYWORD: "var_keyword",
        inspect.Parameter.VAR_POSITIONAL: "var_positional",
    }[param.kind]


def _leaf_names(annotation: str) -> set[str]:
    """The class names an annotation mentions, without module prefixes or typing words."""
    text = re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\.", "", annotation)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    noise = {"Optional", "Union", "List", "list", "Dict", "dict", "None", "Omit"}
    return words - noise


def _official_return(entry: dict[str, Any]) -> str:
    """The official return type, with a listing's page written over its item type."""
    page = entry.get("paginated")
    if page:
        return f"AsyncPaginator[{page['item']}, {page['page'].split('[')[0]}[{page['item']}]]"
    return str(entry.get("returns", ""))


def _returns_match(official: str, ours: str) -> bool:
    if "AsyncStream" in official:
        return False
    return _leaf_names(official) == _leaf_names(ours)


def _sync_form(returns: str) -> str:
    """The answer of a sync method whose async twin answers ``returns``."""
    match = re.fullmatch(r"AsyncPaginator\[(.+), Async(\w+Page)\[(.+)\]\]", returns)
    if match is not None:
        return f"Sync{match.group(2)}[{match.group(3)}]"
    returns = re.sub(r"\bJsonEventStream\b", "SyncJsonEventStream", returns)
    return re.sub(r"\bMessageStream\b", "SyncMessageStream", returns)


def _lookup(root: Any, dotted: str) -> Any:
    target = root
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def sync_cell(sync_client: Any, dotted: str, asynchronous: Any) -> str:
    """How ``letta_async.Letta``'s method compares with ``letta_async.AsyncLetta``'s."""
    try:
        target = _lookup(sync_client, dotted)
    except AttributeError:
        return "missing"
    try:
        mine, theirs = inspect.signature(target), inspect.signature(asynchronous)
    except (TypeError, ValueError):
        return "?"
    shape = [(p.name, p.kind, p.default) for p in mine.parameters.values()]
    if shape != [(p.name, p.kind, p.default) for p in theirs.parameters.values()]:
        return "parameters differ"
    async_return = theirs.return_annotation
    if isinstance(async_return, str) and mine.return_annotation != _sync_form(async_return):
        return f"`{mine.return_annotation}`"
    return "same as async"


def rows(surface: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    from letta_async import AsyncLetta, Letta

    client = AsyncLetta(base_url="http://127.0.0.1:9", api_key="table")
    sync_client = Letta(base_url="http://127.0.0.1:9", api_key="table")
    out = []
    for entry in sorted(surface["methods"], key=lambda e: e["path"]):
        dotted = entry["path"]
        try:
            target: Any = _lookup(client, dotted)
        except AttributeError:
            out.append((dotted, "missing", "", "", "missing", REASONS.get(dotted, "")))
            continue
        sync = sync_cell(sync_client, dotted, target)
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            out.append((dotted, "yes", "?", "?", sync, REASONS.get(dotted, "")))
            continue
        ours = {name: p for name, p in signature.parameters.items() if not name.startswith("_")}
        theirs = [p for p in entry["parameters"] if not p["name"].startswith("_")]
        problems = []
        for param in theirs:
            mine = ours.get(param["name"])
            if mine is None:
                problems.append(f"lacks `{param['name']}`")
                continue
            if _kind(mine) != param["kind"]:
                problems.append(f"`{param['name']}` is {_kind(mine)}")
            default = param["default"]
            if isinstance(default, dict):
                default = repr(default.get("literal")) if default.get("literal") != "{}" else "{}"
            if _default(mine) != _DEFAULTS.get(default, default):
                problems.append(f"`{param['name']}` defaults to {_default(mine)}")
        order = [n for n in ours if n in {p["name"] for p in theirs}]
        if order != [p["name"] for p in theirs]:
            problems.append("order differs")
        added = [n for n in ours if n not in {p["name"] for p in theirs}]
        params = "same" if not problems else "; ".join(problems)
        if added:
            params += " (adds " + ", ".join(f"`{n}`" for n in added) + ")"
        ret = signature.return_annotation
        ret_text = ret if isinstance(ret, str) else getattr(ret, "__name__", str(ret))
        same_return = _returns_match(_official_return(entry), str(ret_text))
        returns = "same" if same_return else f"`{ret_text}`"
        out.append((dotted, "yes", params, returns, sync, REASONS.get(dotted, "")))
    sync_client.close()
    return out


def render(table: list[tuple[str, str, str, str, str, str]]) -> str:
    same = sum(1 for r in table if r[1] == "yes" and r[2] == "same" and r[3] == "same")
    same_sync = sum(1 for r in table if r[4] == "same as async")
    lines = [
        # The maintainers' note is an HTML comment: the rendered page has no use for it.
        "<!-- Generated by tools/gen_method_table.py from tools/official_surface.json and this",
        "package's own signatures: do not edit by hand, run `nox -s codegen` instead. -->",
        "",
        "# Official SDK methods and this client's",
        "",
        "Compared with the official `letta-client` 1.12.1 (`tools/official_surface.json`). A",
        "program written for the official `AsyncLetta` calls these names with these",
        "parameters; where a row differs, the last column says why.",
        "",
        "The sync column compares `letta_async.Letta` with the async row: the official",
        "`Letta` takes the same parameters as the official `AsyncLetta`, method for method,",
        "and answers with the sync form of the same thing (`SyncArrayPage[X]` for",
        "`AsyncPaginator[X, AsyncArrayPage[X]]`, a stream that iterates with `for`). *Same as",
        "async* means this package's sync method has its async twin's parameters and answers",
        "with the sync form of its answer, so the async row's differences are the only ones.",
        "",
        f"{len(table)} official methods: {same} identical in name, parameters and return type; "
        f"{len(table) - same} with a difference explained below; {same_sync} sync methods "
        "the same as their async twins.",
        "",
        "| Official method | Here | Parameters | Return type | Sync (`Letta`) | Why it differs |",
        "|---|---|---|---|---|---|",
    ]
    for dotted, here, params, returns, sync, reason in table:
        lines.append(f"| `{dotted}` | {here} | {params} | {returns} | {sync} | {reason} |")
    return "\n".join(lines) + "\n"


def missing_reasons(table: list[tuple[str, str, str, str, str, str]]) -> list[str]:
    return [
        r[0]
        for r in table
        if not (r[1] == "yes" and r[2] == "same" and r[3] == "same" and r[4] == "same as async")
        and not r[5]
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    table = rows(json.loads(SURFACE.read_text()))
    text = render(table)
    problems = missing_reasons(table)
    if problems:
        print("rows that differ without a reason: " + ", ".join(problems), file=sys.stderr)
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale", file=sys.stderr)
            return 1
    else:
        OUTPUT.write_text(text)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
