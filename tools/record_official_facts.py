"""Record what the official SDK does, for the tests that hold this client to it.

Run with an interpreter that has ``letta-client==1.12.1`` installed (never a dependency of
this package)::

    python tools/record_official_facts.py > tests/fixtures/official_facts.json

It records, from the official client itself: which base URL each combination of
``base_url``, ``environment`` and ``$LETTA_BASE_URL`` chooses (each in a fresh subprocess);
which path ids each method checks before sending, in order (read from the installed source);
the attributes of the errors raised for captured Letta 0.16 error answers, served from
loopback; and the messages of connection errors.
"""

from __future__ import annotations

import ast
import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import letta_client

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
ABSENT = "<absent>"
UNSET = "<unset>"
ERROR_CAPTURES = {
    400: "errors_400_run_stream_not_background.json",
    404: "errors_404_agent.json",
    409: "errors_409_no_active_runs.json",
    422: "errors_422_agent_id_format.json",
}

_CHILD = """
import json, sys
from letta_client import AsyncLetta
try:
    client = AsyncLetta(api_key="k", **json.loads(sys.argv[1]))
    print(json.dumps({"base_url": str(client.base_url)}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def precedence() -> list[dict[str, Any]]:
    rows = []
    bases = [ABSENT, None, "", "http://explicit.test:1111"]
    environments = [ABSENT, "local", "cloud", "staging"]
    env_values = [UNSET, "", "http://fromenv.test:2222"]
    for base, environment, env_value in itertools.product(bases, environments, env_values):
        kwargs: dict[str, Any] = {}
        if base != ABSENT:
            kwargs["base_url"] = base
        if environment != ABSENT:
            kwargs["environment"] = environment
        env = {k: v for k, v in os.environ.items() if not k.startswith("LETTA_")}
        if env_value != UNSET:
            env["LETTA_BASE_URL"] = env_value
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, json.dumps(kwargs)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(done.stdout)
        row = {"base_url": base, "environment": environment, "LETTA_BASE_URL": env_value}
        if "error" in result:
            row.update(error=result["error"], message=result["message"])
        else:
            row["chosen"] = result["base_url"]
        rows.append(row)
    return rows


_CHECK = re.compile(r"Expected a non-empty value for `(\w+)`")


def path_checks() -> dict[str, list[str]]:
    """``{"agents.blocks.retrieve": ["agent_id", "block_label"], ...}`` for the async client."""
    root = Path(letta_client.__file__).parent / "resources"
    found: dict[str, list[str]] = {}
    for source in sorted(root.rglob("*.py")):
        parts = list(source.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            continue
        if len(parts) >= 2 and parts[-1] == parts[-2]:
            parts.pop()
        tree = ast.parse(source.read_text())
        for cls in tree.body:
            if not (isinstance(cls, ast.ClassDef) and cls.name.startswith("Async")):
                continue
            if cls.name.endswith(("WithRawResponse", "WithStreamingResponse")):
                continue
            for func in cls.body:
                if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                names = _CHECK.findall(ast.get_source_segment(source.read_text(), func) or "")
                if names:
                    found[".".join([*parts, func.name])] = list(dict.fromkeys(names))
    return found


class _Captured(BaseHTTPRequestHandler):
    status = 200
    body = b""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.send_header("vary", "Origin")
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _error_of(base_url: str) -> dict[str, Any]:
    client = letta_client.AsyncLetta(base_url=base_url, api_key="k", max_retries=0)
    try:
        await client.agents.retrieve("agent-00000000-0000-4000-8000-000000000000")
    except letta_client.APIStatusError as exc:
        headers = {k: v for k, v in exc.response.headers.items() if k not in ("date", "server")}
        return {
            "class": type(exc).__name__,
            "status_code": exc.status_code,
            "message": exc.message,
            "str": str(exc),
            "body": exc.body,
            "headers": headers,
            "request_method": exc.request.method,
            "request_path": exc.request.url.path,
        }
    finally:
        await client.close()
    raise AssertionError("no error")


def errors(captures: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, name in ERROR_CAPTURES.items():
        handler = type("Handler", (_Captured,), {"status": status})
        handler.body = (captures / name).read_bytes()
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            recorded = asyncio.run(_error_of(f"http://127.0.0.1:{server.server_port}"))
        finally:
            server.shutdown()
            server.server_close()
        out[name] = recorded
    return out


async def _connection_messages() -> dict[str, Any]:
    client = letta_client.AsyncLetta(base_url="http://127.0.0.1:9", api_key="k", max_retries=0)
    try:
        await client.health()
    except letta_client.APIConnectionError as exc:
        refused = {"message": exc.message, "str": str(exc), "body": exc.body}
    finally:
        await client.close()
    return {"refused": refused}


async def _dot_segments() -> dict[str, str]:
    """The message for an id that is a dot-segment, per value."""
    client = letta_client.AsyncLetta(base_url="http://127.0.0.1:9", api_key="k", max_retries=0)
    out: dict[str, str] = {}
    try:
        for value in (".", ".."):
            try:
                await client.agents.blocks.retrieve(value, agent_id="agent-1")
            except ValueError as exc:
                out[value] = str(exc)
    finally:
        await client.close()
    return out


def main() -> None:
    captures = Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES
    facts = {
        "source": f"letta-client {letta_client.__version__}, recorded by "
        "tools/record_official_facts.py",
        "precedence": precedence(),
        "path_checks": path_checks(),
        "errors": errors(captures),
        "connection_error": asyncio.run(_connection_messages()),
        "dot_segments": asyncio.run(_dot_segments()),
    }
    json.dump(facts, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
