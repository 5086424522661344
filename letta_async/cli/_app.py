"""The ``letta-async`` command: argument parsing, the commands, and exit codes.

Design rules, each for a reason:

* Standard library only (argparse): the command ships inside the client package, so it must
  not add dependencies.
* Human output goes to stdout, everything else (notices, errors) to stderr, so that
  ``--json`` output can be piped straight into ``jq`` and still show problems on the terminal.
* An expected failure (an HTTP error, a refused connection, a run that failed) is one line on
  stderr and a non-zero exit code, never a traceback. ``-v`` turns on the library's DEBUG log
  and shows tracebacks of unexpected errors, for bug reports.

Exit codes: 0 success, 1 failure, 2 bad usage (argparse's convention), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

import msgspec

from .._client import AsyncLetta
from .._config import ENVIRONMENTS
from .._errors import APIConnectionError, APIStatusError, LettaError, NotFoundError
from .._hooks import Hooks
from .._render import StreamRenderer, use_color
from .._stream import MessageStream
from .._types import omit
from .._version import __version__
from ..types import UnknownMessage
from ._durable import CommandFailed, UsageError, add_commands

__all__ = ["main", "main_async"]

PROG = "letta-async"

SERVER_RULE = (
    f"--base-url, else $LETTA_BASE_URL, else Letta Cloud ({ENVIRONMENTS['cloud']}): the rule "
    "of the library's AsyncLetta"
)
"""Where every command connects. One rule for the library and the command line, so that a
shell that works for a script works for the command, and the other way round."""

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Usage(Exception):
    """A usage problem found after parsing (``-`` with nothing on stdin, say)."""


@dataclass
class _Session:
    """What a command needs besides its arguments, and what survives an interrupt."""

    args: argparse.Namespace
    stdout: TextIO
    stderr: TextIO
    stream: MessageStream | None = None
    """The stream being read, so an interrupt can say how to pick the run up again."""
    renderer: StreamRenderer | None = None
    notices: list[str] = field(default_factory=list)

    def client(self) -> AsyncLetta:
        """A client for the server the library itself would pick (see :data:`SERVER_RULE`)."""
        hooks = Hooks(on_resume=[self._on_resume])
        return AsyncLetta(base_url=self.args.base_url, api_key=self.args.api_key, hooks=hooks)

    @property
    def default_server(self) -> bool:
        """Whether neither ``--base-url`` nor ``$LETTA_BASE_URL`` named the server."""
        return not self.args.base_url and not os.environ.get("LETTA_BASE_URL")

    def _on_resume(self, run_id: str, starting_after: int | None, attempt: int) -> None:
        after = "the start" if starting_after is None else f"seq_id {starting_after}"
        text = f"connection lost; resuming run {run_id} after {after} (attempt {attempt})"
        self.notice(text)

    def notice(self, text: str) -> None:
        """A status line on stderr that does not cut into a half-printed reply line."""
        self.notices.append(text)
        if self.renderer is not None:
            self.renderer.notice(f"{PROG}: {text}", out=self.stderr)
        else:
            self.stderr.write(f"{PROG}: {text}\n")
            self.stderr.flush()


# --- argument parsing ----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line, as every other failure here is.

    The stock ``error`` prints the whole usage block before the message; in a script's log
    that block buries the one line that says what was wrong.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted both before and after the command name.

    Below the command their default is SUPPRESS, so an option given before the command is not
    overwritten by the subcommand's default (a known argparse pitfall).
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="the server (default: $LETTA_BASE_URL, else Letta Cloud, as for AsyncLetta)",
    )
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        default=default(None),
        help="API key, sent as a bearer token (default: $LETTA_API_KEY; prefer the variable, "
        "since command lines are visible to other users)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON object per line (events, agents, runs) for piping",
    )
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default=default("auto"),
        help="colour the output: auto (a terminal without $NO_COLOR), always, never",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default(False),
        help="log requests, retries and resumes to stderr; show tracebacks of unexpected errors",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, as one argparse tree."""
    parser = _Parser(
        prog=PROG,
        description="Stream from Letta agents and manage their runs from the shell.\n\n"
        + textwrap.fill(
            f"The server is {SERVER_RULE}. For a local server: export "
            "LETTA_BASE_URL=http://localhost:8283. The API key is --api-key, else $LETTA_API_KEY.",
            width=88,
        ),
        epilog="Examples:\n"
        "  letta-async stream agent-123 'Hello!' --tokens\n"
        "  letta-async --json stream agent-123 'Hello!' | jq -r .message_type\n"
        "  letta-async runs tail run-456 --after 12\n"
        "  letta-async runs cancel run-456\n"
        "  letta-async agents list\n"
        "  letta-async worker --redis redis://127.0.0.1:6379/0 --handler mysink:handle",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _common_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    stream = commands.add_parser(
        "stream",
        help="send a message to an agent and show the reply as it streams",
        description="Send one user message to an agent and render the reply live.",
    )
    _common_options(stream, top=False)
    stream.add_argument("agent_id", metavar="AGENT_ID")
    stream.add_argument("text", metavar="TEXT", help="the message; '-' reads it from stdin")
    stream.add_argument(
        "--tokens", action="store_true", help="stream token by token (stream_tokens)"
    )
    stream.add_argument(
        "--background",
        action="store_true",
        help="run in the background: the stream resumes by itself if the connection drops",
    )
    stream.add_argument("--max-steps", type=_count(1), metavar="N", help="cap the agent's steps")
    stream.set_defaults(handler=_cmd_stream)

    runs = commands.add_parser("runs", help="follow, inspect or cancel runs")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    tail = runs_commands.add_parser(
        "tail",
        help="follow a background run (replay, then live)",
        description="Follow a background run: what it already produced, then live events.",
    )
    _common_options(tail, top=False)
    tail.add_argument("run_id", metavar="RUN_ID")
    tail.add_argument(
        "--after",
        type=_count(0),
        default=None,
        metavar="SEQ",
        help="start after this seq_id (as printed by an interrupted stream)",
    )
    tail.set_defaults(handler=_cmd_runs_tail)
    cancel = runs_commands.add_parser("cancel", help="cancel a run")
    _common_options(cancel, top=False)
    cancel.add_argument("run_id", metavar="RUN_ID")
    cancel.set_defaults(handler=_cmd_runs_cancel)
    get = runs_commands.add_parser("get", help="show one run's status")
    _common_options(get, top=False)
    get.add_argument("run_id", metavar="RUN_ID")
    get.set_defaults(handler=_cmd_runs_get)

    agents = commands.add_parser("agents", help="list agents")
    agents_commands = agents.add_subparsers(dest="agents_command", metavar="COMMAND", required=True)
    listing = agents_commands.add_parser("list", help="list agents, newest first")
    _common_options(listing, top=False)
    listing.add_argument("--name", help="only agents with this name")
    listing.add_argument("--limit", type=_count(1), metavar="N", help="show at most N agents")
    listing.set_defaults(handler=_cmd_agents_list)
    add_commands(commands, lambda sub: _common_options(sub, top=False))
    return parser


# --- output helpers ------------------------------------------------------------------------

_encoder = msgspec.json.Encoder()


def _json_line(out: TextIO, obj: Any) -> None:
    """One object, one line. Unknown frames are printed as the server sent them."""
    if isinstance(obj, UnknownMessage):
        out.write(obj.raw.strip() + "\n")
    else:
        out.write(_encoder.encode(obj).decode() + "\n")
    out.flush()


def _color(session: _Session) -> bool:
    choice = session.args.color
    if choice == "always":
        return True
    if choice == "never":
        return False
    return use_color(session.stdout)


async def _consume(session: _Session, stream: MessageStream) -> int:
    """Render or print every event of ``stream``; the exit code follows how it ended."""
    session.stream = stream
    if session.args.json:
        async with stream:
            async for event in stream:
                _json_line(session.stdout, event)
    else:
        renderer = StreamRenderer(session.stdout, color=_color(session))
        session.renderer = renderer
        try:
            async with stream:
                async for event in stream:
                    renderer.feed(event)
        finally:
            renderer.end()
    if stream.error is not None:
        error = stream.error
        raise _Failure(f"the run failed: {error.error_type}: {error.message}")
    if stream.stop_reason == "requires_approval":
        session.notice("the agent is waiting for a tool approval")
    return EXIT_OK


class _Failure(Exception):
    """An expected failure with a message ready for the user."""


# --- commands ------------------------------------------------------------------------------


async def _cmd_stream(session: _Session) -> int:
    args = session.args
    text = args.text
    if text == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise _Usage("no message text on stdin")
    elif not text.strip():
        # Checked here rather than left to the server, which answers with a 422 whose text
        # names a schema field instead of the argument.
        raise _Usage("the message TEXT is empty")
    async with session.client() as client:
        stream = client.agents.messages._unsent_stream(
            args.agent_id,
            messages=[{"role": "user", "content": text}],
            stream_tokens=args.tokens,
            background=args.background,
            max_steps=omit if args.max_steps is None else args.max_steps,
            errors_as_events=True,
        )
        return await _consume(session, stream)


def _run_not_found(run_id: str, exc: NotFoundError) -> _Failure:
    """One line for a run the server does not know, instead of its long 404 body.

    Only for Letta's own 404 (the callers check ``from_letta``): one from something that is
    not Letta (a proxy, a wrong ``--base-url``) says nothing about runs, and its own text
    tells what it is.
    """
    where = f" ({exc.method} {exc.url})" if exc.method and exc.url else ""
    return _Failure(f"no run {run_id} on this server: HTTP 404{where}")


async def _cmd_runs_tail(session: _Session) -> int:
    args = session.args
    async with session.client() as client:
        stream = client.runs.stream(args.run_id, starting_after=args.after, errors_as_events=True)
        try:
            return await _consume(session, stream)
        except NotFoundError as exc:
            if not exc.from_letta:
                raise
            raise _run_not_found(args.run_id, exc) from exc


async def _cmd_runs_cancel(session: _Session) -> int:
    run_id = session.args.run_id
    async with session.client() as client:
        # Letta 0.16 cancels through the agent (there is no /v1/runs/{id}/cancel), so the run
        # is looked up first to learn which agent it belongs to.
        try:
            run = await client.runs.retrieve(run_id)
        except NotFoundError as exc:
            if not exc.from_letta:
                raise
            raise _run_not_found(run_id, exc) from exc
        if run.is_terminal:
            session.notice(f"run {run_id} had already finished ({run.status}); nothing to cancel")
            if session.args.json:
                _json_line(session.stdout, {run_id: run.status})
            return EXIT_OK
        result = await client.agents.messages.cancel(run.agent_id, run_ids=[run_id])
    if session.args.json:
        _json_line(session.stdout, result)
    else:
        for cancelled, status in result.items():
            session.stdout.write(f"{cancelled}: {status}\n")
    return EXIT_OK


async def _cmd_runs_get(session: _Session) -> int:
    run_id = session.args.run_id
    async with session.client() as client:
        try:
            run = await client.runs.retrieve(run_id)
        except NotFoundError as exc:
            if not exc.from_letta:
                raise
            raise _run_not_found(run_id, exc) from exc
    if session.args.json:
        _json_line(session.stdout, run)
    else:
        out = session.stdout
        out.write(f"run:         {run.id}\n")
        out.write(f"agent:       {run.agent_id}\n")
        out.write(f"status:      {run.status}\n")
        out.write(f"stop reason: {run.stop_reason or '-'}\n")
        out.write(f"background:  {'yes' if run.background else 'no'}\n")
        if run.created_at is not None:
            out.write(f"created:     {run.created_at.isoformat()}\n")
    return EXIT_OK


async def _cmd_agents_list(session: _Session) -> int:
    args = session.args
    rows: list[tuple[str, str, str]] = []
    async with session.client() as client:
        pages = client.agents.list(name=args.name)
        async for agent in pages:
            if args.limit is not None and len(rows) >= args.limit:
                break
            if args.json:
                _json_line(session.stdout, agent)
            rows.append((agent.id, agent.name, agent.model or "-"))
    if args.json:
        return EXIT_OK
    if not rows:
        session.notice("no agents")
        return EXIT_OK
    widths = [max(len(row[i]) for row in [("ID", "NAME", "MODEL"), *rows]) for i in range(2)]
    for row in [("ID", "NAME", "MODEL"), *rows]:
        session.stdout.write(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}\n")
    return EXIT_OK


# --- entry points --------------------------------------------------------------------------


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, APIStatusError):
        where = f" ({exc.method} {exc.url})" if exc.method and exc.url else ""
        return f"{exc.message}{where}"
    return str(exc) or exc.__class__.__name__


async def main_async(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command inside an already running event loop; returns the exit code.

    The same as :func:`main` without ``asyncio.run``: for embedding the command in an async
    program or test. Interrupts are the caller's business here.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    session = _Session(args, out, err)
    return await _run(session, parser)


async def _run(session: _Session, parser: argparse.ArgumentParser) -> int:
    restore = _enable_debug_log(session.stderr) if session.args.verbose else None
    try:
        code: int = await session.args.handler(session)
        return code
    except BrokenPipeError:
        raise  # the reader of our output went away; main() treats that as the end
    except (_Usage, UsageError) as exc:
        # One line, as for every other error; --help has the whole usage.
        _print_error(session, f"{exc} (see {PROG} --help)")
        return EXIT_USAGE
    except (_Failure, CommandFailed, LettaError, ValueError, OSError) as exc:
        # Expected failures: a bad URL, an HTTP error, a refused connection, a failed run.
        _print_error(session, _error_text(exc))
        _server_hint(session, exc)
        _resume_hint(session, exc)
        return EXIT_FAILURE
    except Exception as exc:
        # A bug, ours or a dependency's: still one line, unless -v asks for the traceback.
        if session.args.verbose:
            raise
        name = type(exc).__name__
        _print_error(session, f"unexpected {name}: {exc} (run with -v for the traceback)")
        _resume_hint(session)
        return EXIT_FAILURE
    finally:
        if restore is not None:
            restore()


def _print_error(session: _Session, text: str) -> None:
    session.stderr.write(f"{PROG}: error: {text}\n")
    session.stderr.flush()


def _server_hint(session: _Session, error: BaseException) -> None:
    """After a refused connection or a 401 from the server nobody named, say which it was:
    someone used to a local server would otherwise not guess they talked to Letta Cloud."""
    if not session.default_server:
        return
    if isinstance(error, APIConnectionError) or (
        isinstance(error, APIStatusError) and error.status_code in (401, 403)
    ):
        session.stderr.write(
            f"{PROG}: no --base-url or $LETTA_BASE_URL, so this was Letta Cloud "
            f"({ENVIRONMENTS['cloud']}); for a local server: "
            "export LETTA_BASE_URL=http://localhost:8283\n"
        )
        session.stderr.flush()


def _resume_hint(session: _Session, error: BaseException | None = None) -> None:
    """After a broken or interrupted background stream, say how to carry on.

    Not after a 4xx: the server said the run cannot be followed (it does not exist, has
    expired, or was not started in the background), so following it again would fail again.
    """
    stream = session.stream
    if stream is None or stream.completed or stream.run_id is None:
        return
    cause = error.__cause__ if error is not None else None
    if any(isinstance(e, APIStatusError) and 400 <= e.status_code < 500 for e in (error, cause)):
        return
    if stream.last_seq_id is None:
        return  # a foreground stream has no sequence numbers: it cannot be resumed
    session.stderr.write(
        f"{PROG}: the run goes on; follow it with: "
        f"{PROG} runs tail {stream.run_id} --after {stream.last_seq_id}\n"
    )
    session.stderr.flush()


def _enable_debug_log(err: TextIO) -> Callable[[], None]:
    """Send the library's DEBUG log to ``err`` until the returned function is called.

    Undone afterwards so that ``main_async`` leaves an embedding program's logging as it was.
    """
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("letta_async")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return restore


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: parse ``argv`` (default ``sys.argv[1:]``), run, return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    session = _Session(args, sys.stdout, sys.stderr)
    try:
        return asyncio.run(_run(session, parser))
    except KeyboardInterrupt:
        if session.renderer is not None:
            session.renderer.end()
        session.stderr.write(f"{PROG}: interrupted\n")
        _resume_hint(session)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `letta-async --json stream ... | head`: the reader left; that is not an error.
        _silence_stdout()
        return EXIT_OK


def _silence_stdout() -> None:
    """After a broken pipe, stop Python from failing again while flushing at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
