"""The reference renders in a real browser: signatures of the main API, and the error tree.

Headless Chromium loads pages of the built ``site/`` from a local HTTP server on 127.0.0.1 and
prints the document as it stands once the page has loaded and the theme's scripts have run
(``--dump-dom``). The checks read that DOM: the heading of each object, the signature block
right after it, and for the errors the base class each one names. Every asset a page loads must
come from the site itself.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

import letta_async
from letta_async.testing import bind_free_port

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site"
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
ERRORS = sorted(name for name in letta_async.__all__ if name.endswith("Error"))


# --- a small DOM ---------------------------------------------------------------------------


class Element:
    """One element of the dumped document: tag, attributes, children (elements and text)."""

    def __init__(self, tag: str, attrs: dict[str, str], parent: Element | None) -> None:
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self) -> Iterator[Element]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.elements()

    def next_element(self) -> Element | None:
        """The next sibling that is an element."""
        assert self.parent is not None
        siblings = [c for c in self.parent.children if isinstance(c, Element)]
        position = next(i for i, c in enumerate(siblings) if c is self)
        return siblings[position + 1] if position + 1 < len(siblings) else None


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


# --- serving the site and opening it in Chromium --------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _listen(directory: Path) -> ThreadingHTTPServer:
    """A server for ``directory`` on 127.0.0.1, on a free port below 32768."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    sock = bind_free_port("127.0.0.1")
    sock.setblocking(True)
    server = ThreadingHTTPServer(sock.getsockname(), handler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    return server


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    if not (SITE / "index.html").is_file():
        pytest.fail("site/ is not built: run `nox -s docs` (or `mkdocs build --strict`) first")
    server = _listen(SITE)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("Chromium is not installed (nox -s docs installs Debian's package)")
    return found


def dump_dom(url: str) -> str:
    """The document Chromium ends up with after loading ``url``."""
    with tempfile.TemporaryDirectory(prefix="letta-site-chromium-") as profile:
        command = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",  # let the theme's scripts finish before the dump
            "--dump-dom",
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    assert "</html>" in done.stdout, f"no document from {url}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def page(base_url: str) -> Callable[[str], Element]:
    """Open a page of the site (path relative to the site root) once per module."""
    cache: dict[str, Element] = {}

    def open_page(path: str) -> Element:
        if path not in cache:
            cache[path] = parse(dump_dom(urljoin(base_url, path)))
        return cache[path]

    return open_page


# --- what the reference must show -----------------------------------------------------------


def by_id(document: Element, anchor: str) -> Element:
    found = [e for e in document.elements() if e.attrs.get("id") == anchor]
    assert len(found) == 1, f"{len(found)} elements with id {anchor!r}"
    return found[0]


def signature(document: Element, anchor: str) -> str:
    """The rendered signature of the object whose heading has the id ``anchor``, on one line."""
    heading = by_id(document, anchor)
    assert heading.tag in {"h2", "h3", "h4"} and "doc-heading" in heading.classes
    block = heading.next_element()
    assert block is not None and "doc-signature" in block.classes, f"no signature under {anchor}"
    return " ".join(block.text().split())


def compact(text: str) -> str:
    """``text`` without the spaces that signature formatting may put after brackets."""
    return text.replace("( ", "(").replace(" )", ")").replace(", )", ")")


def test_async_letta_shows_its_constructor_and_namespaces(page: Callable[[str], Element]) -> None:
    document = page("reference/client/")
    constructor = compact(signature(document, "letta_async.AsyncLetta"))
    assert constructor.startswith("AsyncLetta(")
    for parameter in ("base_url:", "api_key:", "timeout:", "max_retries:", "session:", "hooks:"):
        assert parameter in constructor
    assert "_parent" not in constructor
    assert compact(signature(document, "letta_async.AsyncLetta.copy")).startswith("copy(")
    assert signature(document, "letta_async.AsyncLetta.agents") == "agents: AgentsResource"
    block = by_id(document, "letta_async.AsyncLetta.agents").next_element()
    assert block is not None
    links = [e.attrs.get("href", "") for e in block.elements() if e.tag == "a"]
    assert any("resources/agents/" in href for href in links), links


def test_message_stream_shows_its_class_and_methods(page: Callable[[str], Element]) -> None:
    document = page("reference/streams/")
    assert compact(signature(document, "letta_async.MessageStream")).startswith("MessageStream(")
    for method in ("cancel", "until_done", "aclose"):
        rendered = compact(signature(document, f"letta_async.MessageStream.{method}"))
        assert rendered.startswith(f"{method}("), rendered
    assert "run_id" in signature(document, "letta_async.MessageStream.run_id")
    assert "last_seq_id" in signature(document, "letta_async.MessageStream.last_seq_id")


def test_fan_out_shows_its_signature(page: Callable[[str], Element]) -> None:
    document = page("reference/fan-out/")
    rendered = compact(signature(document, "letta_async.fan_out"))
    assert rendered.startswith("fan_out(")
    for parameter in ("requests:", "limit:", "buffer:"):
        assert parameter in rendered
    assert rendered.endswith("-> FanOut[K, T]")
    assert compact(signature(document, "letta_async.FanOut")).startswith("FanOut(")


@pytest.mark.parametrize("name", ERRORS)
def test_error_tree(page: Callable[[str], Element], name: str) -> None:
    """Each error shows its constructor's parameters, and its base links to the parent's entry.

    An error that keeps ``Exception``'s constructor has no signature of its own to show.
    """
    document = page("reference/errors/")
    anchor = f"letta_async.{name}"
    error = getattr(letta_async, name)
    if getattr(error.__init__, "__module__", "").startswith("letta_async"):
        rendered = compact(signature(document, anchor))
        assert rendered.startswith(f"{name}(")
        for parameter in inspect.signature(error).parameters:
            assert f"{parameter}" in rendered, (parameter, rendered)
    entry = by_id(document, anchor).parent
    assert entry is not None
    bases_line = next(e for e in entry.elements() if "doc-class-bases" in e.classes)
    parent = error.__bases__[0]
    shown = [" ".join(e.text().split()) for e in bases_line.elements() if e.tag == "code"]
    assert shown[0] == parent.__name__, shown
    if parent.__module__.startswith("letta_async"):
        links = [e.attrs["href"] for e in bases_line.elements() if e.tag == "a"]
        assert links[0].endswith(f"#letta_async.{parent.__name__}"), links


@pytest.mark.parametrize(
    "path",
    ["", "reference/client/", "reference/errors/", "guides/streaming/", "benchmarks/"],
)
def test_pages_load_nothing_from_elsewhere(
    page: Callable[[str], Element], base_url: str, path: str
) -> None:
    document = page(path)
    loaded = [
        e.attrs.get("src") or e.attrs.get("href", "")
        for e in document.elements()
        if e.tag in {"script", "img", "iframe"} or (e.tag == "link" and e.attrs.get("href"))
    ]
    assert loaded, "a page with no assets at all is not the theme's page"
    for asset in loaded:
        if not asset or asset.startswith("data:"):
            continue
        target = urlsplit(urljoin(urljoin(base_url, path), asset))
        assert target.hostname == "127.0.0.1", f"{path or 'index'} loads {asset}"


def test_theme_scripts_ran(page: Callable[[str], Element]) -> None:
    """The theme's bundled JavaScript ran: it gives code blocks their copy buttons."""
    document = page("guides/streaming/")
    buttons = [e for e in document.elements() if "md-code__button" in e.classes]
    assert buttons, "no copy buttons: the theme's scripts did not run"


def test_benchmark_chart_is_published(page: Callable[[str], Element], base_url: str) -> None:
    document = page("benchmarks/")
    images = [e.attrs.get("src", "") for e in document.elements() if e.tag == "img"]
    chart = [src for src in images if src.endswith("latest.png")]
    assert chart, images
    with urllib.request.urlopen(urljoin(urljoin(base_url, "benchmarks/"), chart[0])) as answer:
        body = answer.read()
    assert body.startswith(b"\x89PNG") and len(body) > 1000


def test_a_generated_method_shows_every_argument_in_a_table(
    page: Callable[[str], Element],
) -> None:
    # The Args: section of a generated docstring is parsed as Google style: one row per
    # parameter, with the description the OpenAPI document gives it.
    document = page("reference/resources/agents/")
    heading = by_id(document, "letta_async.resources.agents.AgentsResource.create")
    rows: dict[str, str] = {}
    for element in heading.parent.elements() if heading.parent else ():
        if element.tag == "tr" and "doc-section-item" in element.classes:
            cells = [c for c in element.children if isinstance(c, Element) and c.tag == "td"]
            rows.setdefault(" ".join(cells[0].text().split()), " ".join(cells[2].text().split()))
    assert rows["memory_blocks"] == "The blocks to create in the agent's in-context memory."
    assert "timeout" in rows and "extra_headers" in rows
    assert len(rows) > 50


@pytest.mark.parametrize(
    "path", ["reference/resources/agents/", "reference/types/agents/", "api-methods/"]
)
def test_generated_pages_keep_the_maintainers_note_out(
    page: Callable[[str], Element], path: str
) -> None:
    text = " ".join(page(path).text().split())
    assert "do not edit" not in text.lower()
    assert "nox -s codegen" not in text
