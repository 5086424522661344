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
import ast
import inspect
import json
import re
import sys
from collections.abc import Iterable
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


# --- Migration corpus coverage ---------------------------------------------------------
# Which official methods the corpus (tests/e2e/migration/programs, programs written for the
# official SDK and run by both clients) calls, found statically so the table needs no server.

CORPUS = ROOT / "tests" / "e2e" / "migration" / "programs"

#: Official methods no corpus program calls, and why. A method the table lists must be
#: called by a program or named here (``uncovered`` and the unit test enforce it).
NOT_IN_CORPUS: dict[str, str] = {
    "request": "it takes the official SDK's internal `FinalRequestOptions`, which this client "
    "does not offer (see the row's reason); `get`/`post`/`patch`/`put`/`delete` are called",
}

#: Accessors that give the same methods another return shape; a call through them still
#: calls the method (``client.agents.with_raw_response.retrieve`` calls ``agents.retrieve``).
_PASS_THROUGH = {"with_raw_response", "with_streaming_response"}
_CLIENT_CLASSES = {"AsyncLetta", "Letta"}
_DERIVED = {"with_options", "copy"}


def _attribute_chain(node: ast.expr) -> tuple[ast.expr, list[str]]:
    """``a.b.c`` -> (``a``, ["b", "c"]); the base is the first non-attribute expression."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return node, names[::-1]


def _client_names(tree: ast.Module) -> set[str]:
    """Names bound to a client: ``AsyncLetta(...)``, its ``with_options``/``copy``, ``async
    with AsyncLetta(...) as c`` and parameters annotated ``AsyncLetta``."""
    names: set[str] = set()
    for _ in range(3):  # a derived client may be bound before the name it derives from
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if _is_client(node.value, names):
                    names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                if _is_client(node.context_expr, names):
                    names.add(node.optional_vars.id)
            elif isinstance(node, ast.arg) and _is_client_class(node.annotation):
                names.add(node.arg)
    return names


def _is_client_class(node: ast.expr | None) -> bool:
    """``AsyncLetta``/``Letta``, bare or as ``letta_client.AsyncLetta``."""
    if node is None:
        return False
    base, chain = _attribute_chain(node)
    return (bool(chain) and chain[-1] in _CLIENT_CLASSES) or (
        not chain and isinstance(base, ast.Name) and base.id in _CLIENT_CLASSES
    )


def _is_client(node: ast.expr, names: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in names
    if not isinstance(node, ast.Call):
        return False
    if _is_client_class(node.func):
        return True
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in _DERIVED:
        return False
    return _is_client(func.value, names)


def calls_in(source: str, methods: Iterable[str]) -> set[str]:
    """The official methods that ``source`` reaches through a client (attribute chains
    rooted at a client name or a derived client, ``with_raw_response`` looked through)."""
    tree = ast.parse(source)
    clients = _client_names(tree)
    wanted = {tuple(m.split(".")): m for m in methods}
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        base, chain = _attribute_chain(node)
        path = tuple(name for name in chain if name not in _PASS_THROUGH)
        if path in wanted and _is_client(base, clients):
            found.add(wanted[path])
    return found


def corpus_coverage(methods: Iterable[str], programs: Path = CORPUS) -> dict[str, str]:
    """Each official method the corpus calls -> the first program (by number) calling it."""
    methods = list(methods)
    first: dict[str, str] = {}
    for program in sorted(programs.glob("[0-9][0-9]_*.py")):
        for method in calls_in(program.read_text(encoding="utf-8"), methods):
            first.setdefault(method, program.stem)
    return first


#: The line that sends a program to the bundled test server (tests/e2e/test_migration.py).
TEST_SERVER_LINE = "\n# server: letta_async.testing\n"
#: The comment that marks a program exposing a gap not closed yet (a strict xfail there).
KNOWN_GAP_LINE = "\n# known gap: "


def corpus_cell(method: str, coverage: dict[str, str], programs: Path = CORPUS) -> str:
    if method in coverage:
        stem = coverage[method]
        source = programs / f"{stem}.py"
        text = source.read_text("utf-8") if source.exists() else ""
        notes = [
            note
            for line, note in (
                (TEST_SERVER_LINE, "on the bundled test server"),
                (KNOWN_GAP_LINE, "a known gap: the outputs still differ"),
            )
            if line in text
        ]
        return f"`{stem}`" + (f" ({'; '.join(notes)})" if notes else "")
    return f"not called: {NOT_IN_CORPUS[method]}" if method in NOT_IN_CORPUS else ""


def uncovered(methods: Iterable[str], coverage: dict[str, str]) -> list[str]:
    """Methods neither called by the corpus nor given a reason in NOT_IN_CORPUS."""
    return [m for m in methods if m not in coverage and m not in NOT_IN_CORPUS]


def render(
    table: list[tuple[str, str, str, str, str, str]], coverage: dict[str, str] | None = None
) -> str:
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
    ]
    coverage = coverage or {}
    lines += [
        f"Called by the migration corpus: {sum(r[0] in coverage for r in table)}/{len(table)}"
        " (`tests/e2e/migration`: programs written for the official SDK, each run by both "
        "clients and compared on the real Letta 0.16.8, or on the bundled test server for routes "
        "newer than it; the last column names the first program calling the method, or why "
        "none does).",
        "",
        "| Official method | Here | Parameters | Return type | Sync (`Letta`) | Why it differs "
        "| Migration corpus |",
        "|---|---|---|---|---|---|---|",
    ]
    for dotted, here, params, returns, sync, reason in table:
        corpus = corpus_cell(dotted, coverage)
        lines.append(
            f"| `{dotted}` | {here} | {params} | {returns} | {sync} | {reason} | {corpus} |"
        )
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
    coverage = corpus_coverage(r[0] for r in table)
    text = render(table, coverage)
    problems = missing_reasons(table)
    if problems:
        print("rows that differ without a reason: " + ", ".join(problems), file=sys.stderr)
    not_called = uncovered((r[0] for r in table), coverage)
    if not_called:
        print(
            "methods neither called by the migration corpus nor given a reason in "
            "NOT_IN_CORPUS: " + ", ".join(not_called),
            file=sys.stderr,
        )
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is stale", file=sys.stderr)
            return 1
    else:
        OUTPUT.write_text(text)
    return 1 if problems or not_called else 0


if __name__ == "__main__":
    raise SystemExit(main())
