"""MkDocs hook: guide pages take their text from README.md and other repository files.

The README is where the guides are written (``tests/test_readme.py`` runs its examples), so the
site includes its sections at build time instead of keeping a copy. A page names what it
includes in a comment on a line of its own, with a path relative to the repository root::

    <!-- include: README.md | Streaming -->   the body of the section headed "Streaming"
    <!-- include: CHANGELOG.md -->            the whole file

A section is the text below its heading, up to the next heading of the same or a higher level
(a ``#`` title's section ends at the first ``##``). The heading itself is left to the page, and
the section's subheadings move to sit one level below the page heading above the comment. A
section or file that does not exist is an error, which ``mkdocs build --strict`` turns into a
failed build. A section that is allowed to be missing opens a block instead; what the block
holds is shown only while the section does not exist::

    <!-- include-or: README.md | Durable streams -->
    Shown until the README has a "Durable streams" section.
    <!-- end include -->

A part of a page that describes code still to come is kept or dropped by whether a repository
path exists::

    <!-- if-exists: letta_async/durable -->
    ::: letta_async.durable
    <!-- end if -->
    <!-- if-missing: letta_async/durable -->
    Not in this release yet.
    <!-- end if -->

Links in included text are relative to the included file; they are rewritten for the site. A
link to a section or a file that some page includes goes to that page (to the heading with the
same text, when the page has one); a link into ``docs/`` goes to that page; an image elsewhere
in the repository is published with the site; another repository path becomes a code span, as
the site has no copy of it. A page's own links to images outside ``docs/`` (such as
``../benchmarks/results/latest.png``) are published the same way.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from pathlib import Path

from markdown.extensions.toc import slugify
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = get_plugin_logger("include")

DIRECTIVE = re.compile(
    r"^<!--\s*include(?P<optional>-or)?:\s*(?P<path>[^|>]+?)\s*"
    r"(?:\|\s*(?P<section>[^>]+?)\s*)?-->\s*$"
)
END_BLOCK = re.compile(r"^<!--\s*end include\s*-->\s*$")
CONDITION = re.compile(r"^<!--\s*if-(?P<kind>exists|missing):\s*(?P<path>[^>]+?)\s*-->\s*$")
END_CONDITION = re.compile(r"^<!--\s*end if\s*-->\s*$")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?(?<!`)\1(?!`)")
LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)\)")
SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
ASSET_DIR = "assets/repo"


@dataclasses.dataclass(frozen=True)
class Directive:
    """One include comment of a page: a repository file, maybe one of its sections."""

    path: str
    section: str | None
    optional: bool


@dataclasses.dataclass
class Site:
    """What the pages include, gathered before any page is rendered."""

    root: Path
    docs_dir: Path
    # (repository path, section title or None for the whole file) -> page src_uri
    included: dict[tuple[str, str | None], str] = dataclasses.field(default_factory=dict)
    # page src_uri -> headings of the page once its includes are expanded
    headings: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    # repository path of a published image -> its src_uri on the site
    assets: dict[str, str] = dataclasses.field(default_factory=dict)


_site: Site | None = None


# --- reading Markdown ------------------------------------------------------------------------


def _heading_lines(lines: list[str]) -> list[tuple[int, int, str]]:
    """``(index, level, text)`` of every ATX heading outside fenced code blocks."""
    found: list[tuple[int, int, str]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
        opening = FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        heading = HEADING.match(line)
        if heading:
            found.append((index, len(heading.group(1)), heading.group(2)))
    return found


def _section(text: str, title: str) -> str | None:
    """The body of the section headed ``title``, without the heading; None if there is none."""
    lines = text.splitlines()
    headings = _heading_lines(lines)
    matches = [(i, level) for i, level, heading in headings if heading == title]
    if not matches:
        return None
    if len(matches) > 1:
        raise ValueError(f"{len(matches)} headings read {title!r}")
    start, level = matches[0]
    end = next((i for i, other, _ in headings if i > start and other <= max(level, 2)), len(lines))
    return "\n".join(lines[start + 1 : end]).strip("\n")


def _shift_headings(text: str, top: int) -> str:
    """Move the headings of ``text`` so that the highest of them is at level ``top``."""
    lines = text.split("\n")
    headings = _heading_lines(lines)
    if not headings:
        return text
    shift = top - min(level for _, level, _ in headings)
    for index, level, title in headings:
        lines[index] = "#" * max(1, min(6, level + shift)) + " " + title
    return "\n".join(lines)


def _github_slug(title: str) -> str:
    """The anchor GitHub gives a heading, which is what the README's own links use."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def _directives(markdown: str) -> list[Directive]:
    found = []
    for line in markdown.splitlines():
        match = DIRECTIVE.match(line)
        if match:
            found.append(
                Directive(
                    path=match.group("path"),
                    section=match.group("section"),
                    optional=bool(match.group("optional")),
                )
            )
    return found


# --- expanding includes ----------------------------------------------------------------------


def _read(site: Site, path: str) -> str | None:
    file = site.root / path
    return file.read_text(encoding="utf-8") if file.is_file() else None


def _expand(
    site: Site, markdown: str, page_path: str, *, report: bool = True
) -> list[tuple[str, str]]:
    """The page as chunks of ``(source path, text)``: its own lines and the included ones.

    Problems are logged as warnings (fatal under ``--strict``) when ``report`` is true, and
    leave a visible note in the page.
    """
    chunks: list[tuple[str, str]] = []
    own: list[str] = []
    lines = markdown.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        condition = CONDITION.match(line)
        if condition is not None:
            body, index = _block(lines, index, END_CONDITION, page_path, report=report)
            exists = (site.root / condition.group("path")).exists()
            if exists == (condition.group("kind") == "exists"):
                own.extend(body)
            continue
        match = DIRECTIVE.match(line)
        if match is None:
            own.append(line)
            continue
        directive = Directive(
            path=match.group("path"),
            section=match.group("section"),
            optional=bool(match.group("optional")),
        )
        fallback: list[str] = []
        if directive.optional:
            fallback, index = _block(lines, index, END_BLOCK, page_path, report=report)
        chunks.append((page_path, "\n".join(own)))
        own = []
        text = _included_text(site, directive, page_path, report=report)
        if text is None:
            chunks.append((page_path, "\n".join(fallback)))
            continue
        if directive.section is not None:
            above = [level for _, level, _ in _heading_lines(markdown.splitlines()[:index])]
            text = _shift_headings(text, (above[-1] if above else 1) + 1)
        chunks.append((directive.path, text))
    chunks.append((page_path, "\n".join(own)))
    return chunks


def _block(
    lines: list[str], index: int, end: re.Pattern[str], page_path: str, *, report: bool
) -> tuple[list[str], int]:
    """The lines from ``index`` up to the closing comment ``end``, and the index after it."""
    body: list[str] = []
    while index < len(lines) and not end.match(lines[index]):
        body.append(lines[index])
        index += 1
    if index == len(lines) and report:
        log.warning("%s: a block is not closed by %s", page_path, end.pattern)
    return body, index + 1


def _included_text(site: Site, directive: Directive, page_path: str, *, report: bool) -> str | None:
    what = directive.path + (f" | {directive.section}" if directive.section else "")
    whole = _read(site, directive.path)
    text = whole
    if whole is not None and directive.section is not None:
        try:
            text = _section(whole, directive.section)
        except ValueError as error:
            if report:
                log.warning("%s: cannot include %s: %s", page_path, what, error)
            return f"!!! failure\n    {what}: {error}"
    if text is not None:
        return text
    if directive.optional:
        if report:
            log.info("%s: %s does not exist yet; showing the page's own text", page_path, what)
        return None
    if report:
        log.warning("%s: cannot include %s: no such %s", page_path, what, _kind(directive))
    return f"!!! failure\n    Missing: {what}"


def _kind(directive: Directive) -> str:
    return "file" if directive.section is None else "section"


# --- rewriting links -------------------------------------------------------------------------


def _relative(target_uri: str, page_uri: str) -> str:
    return posixpath.relpath(target_uri, posixpath.dirname(page_uri) or ".")


def _docs_uri(site: Site, repo_path: str) -> str | None:
    """The src_uri of a repository path inside docs_dir, else None."""
    docs = site.docs_dir.relative_to(site.root).as_posix()
    if repo_path == docs or not repo_path.startswith(docs + "/"):
        return None
    return repo_path[len(docs) + 1 :]


def _anchor(site: Site, page_uri: str, title: str) -> str:
    return "#" + slugify(title, "-") if title in site.headings.get(page_uri, set()) else ""


def _rewrite(site: Site, source: str, page_uri: str, match: re.Match[str]) -> str:
    """The replacement of one Markdown link found in text that comes from ``source``."""
    bang, text, target = match.group("bang"), match.group("text"), match.group("target")
    if SCHEME.match(target):
        return match.group(0)
    path, _, fragment = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), path or source))
    if resolved.startswith("../"):
        log.warning("%s: link %r leaves the repository", page_uri, target)
        return match.group(0)
    in_docs = _docs_uri(site, resolved)
    source_in_docs = _docs_uri(site, source) is not None
    if in_docs is not None and source_in_docs:
        return match.group(0)  # an ordinary link between pages: MkDocs checks it
    if fragment:
        return _rewrite_section_link(site, match, page_uri, resolved, fragment)
    if (resolved, None) in site.included:
        uri: str | None = site.included[(resolved, None)]
    else:
        uri = in_docs
    if uri is not None:
        return f"{bang}[{text}]({_relative(uri, page_uri)})"
    if not (site.root / resolved).exists():
        log.warning("%s: link %r (from %s) points at nothing", page_uri, target, source)
        return match.group(0)
    if bang or Path(resolved).suffix.lower() in IMAGE_SUFFIXES:
        return f"{bang}[{text}]({_relative(site.assets[resolved], page_uri)})"
    shown = f"`{resolved}`"
    return shown if text.strip("`") == resolved else f"{text} ({shown})"


def _rewrite_section_link(
    site: Site, match: re.Match[str], page_uri: str, resolved: str, fragment: str
) -> str:
    text = match.group("text")
    whole = _read(site, resolved)
    titles = [title for _, _, title in _heading_lines((whole or "").splitlines())]
    title = next((t for t in titles if _github_slug(t) == fragment), None)
    if title is None:
        log.warning("%s: link to #%s: %s has no such heading", page_uri, fragment, resolved)
        return match.group(0)
    uri = site.included.get((resolved, title))
    if uri is None:
        uri = site.included.get((resolved, None)) or _docs_uri(site, resolved)
    if uri is None:
        log.warning("%s: link to %s#%s: no page shows that section", page_uri, resolved, fragment)
        return match.group(0)
    return f"[{text}]({_relative(uri, page_uri)}{_anchor(site, uri, title)})"


def _rewrite_links(site: Site, source: str, page_uri: str, text: str) -> str:
    """Rewrite the links of ``text`` outside code blocks and code spans."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opening = FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if opening:
            fence = opening.group(1)
            out.append(line)
            continue
        pieces: list[str] = []
        last = 0
        for span in CODE_SPAN.finditer(line):
            pieces.append(_rewrite_plain(site, source, page_uri, line[last : span.start()]))
            pieces.append(span.group(0))
            last = span.end()
        pieces.append(_rewrite_plain(site, source, page_uri, line[last:]))
        out.append("".join(pieces))
    return "\n".join(out)


def _rewrite_plain(site: Site, source: str, page_uri: str, text: str) -> str:
    return LINK.sub(lambda match: _rewrite(site, source, page_uri, match), text)


def _image_targets(site: Site, source: str, text: str) -> list[str]:
    """Repository images outside docs_dir that ``text`` (from ``source``) links to."""
    found = []
    for match in LINK.finditer(text):
        target = match.group("target").partition("#")[0]
        if not target or SCHEME.match(target):
            continue
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
        is_image = match.group("bang") or Path(resolved).suffix.lower() in IMAGE_SUFFIXES
        if is_image and _docs_uri(site, resolved) is None and (site.root / resolved).is_file():
            found.append(resolved)
    return found


# --- MkDocs events ---------------------------------------------------------------------------


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Record which page includes what, and publish the repository images the pages show."""
    global _site
    root = Path(config.config_file_path).resolve().parent
    site = Site(root=root, docs_dir=Path(config.docs_dir).resolve())
    docs = site.docs_dir.relative_to(root).as_posix()
    pages = list(files.documentation_pages())
    for file in pages:
        for directive in _directives(file.content_string):
            key = (directive.path, directive.section)
            if key in site.included:
                log.warning("%s and %s both include %s", site.included[key], file.src_uri, key)
            site.included[key] = file.src_uri
    for file in pages:
        chunks = _expand(site, file.content_string, f"{docs}/{file.src_uri}", report=False)
        text = "\n".join(chunk for _, chunk in chunks)
        site.headings[file.src_uri] = {title for _, _, title in _heading_lines(text.splitlines())}
        for source, chunk in chunks:
            for image in _image_targets(site, source, chunk):
                if image not in site.assets:
                    site.assets[image] = f"{ASSET_DIR}/{image}"
                    files.append(
                        File.generated(config, site.assets[image], abs_src_path=str(root / image))
                    )
    _site = site
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the include comments of a page by the text they name, links rewritten."""
    site = _site
    if site is None:
        raise RuntimeError("on_files has not run")
    docs = site.docs_dir.relative_to(site.root).as_posix()
    page_uri = page.file.src_uri
    chunks = _expand(site, markdown, f"{docs}/{page_uri}")
    return "\n".join(_rewrite_links(site, source, page_uri, text) for source, text in chunks)
