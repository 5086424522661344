"""``multipart/form-data`` bodies for the two upload routes (folder files and agent files).

The body is built in memory, once, before the first attempt: a retried upload then resends the
very same bytes, and the transport stays a plain bytes-in, bytes-out layer. Letta's uploads are
documents and agent files, small enough for that.
"""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from .._lazy import LazyModule
from .._transport import PreparedRequest

if TYPE_CHECKING:
    import anyio
else:  # anyio costs start-up time and is needed only to wait (retries, resumes, closing)
    anyio = LazyModule("anyio")

__all__ = ["FileInput", "file_from_path", "multipart_request"]

FileInput = bytes | os.PathLike[str] | IO[bytes] | tuple[str, bytes] | tuple[str, bytes, str]
"""A file to upload: its bytes, a path, an open binary file, or ``(filename, bytes[, type])``."""


async def read_file(value: FileInput, default_name: str) -> tuple[str, bytes, str]:
    """``(filename, content, content type)`` for any accepted file form."""
    if isinstance(value, bytes):
        return default_name, value, "application/octet-stream"
    if isinstance(value, tuple):
        name, content = value[0], value[1]
        kind = value[2] if len(value) == 3 else _guess(name)
        return name, content, kind
    if isinstance(value, os.PathLike):
        file_path = anyio.Path(os.fspath(value))
        return file_path.name, await file_path.read_bytes(), _guess(file_path.name)
    content = value.read()
    name = os.path.basename(str(getattr(value, "name", "") or default_name))
    return name, content, _guess(name)


def file_from_path(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    """``(file name, contents)`` of a file on disk, ready to pass as an upload's ``file``."""
    with open(path, "rb") as handle:
        return os.path.basename(os.fspath(path)), handle.read()


def _guess(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _quote(value: str) -> str:
    """Quote a name for a Content-Disposition parameter as browsers do (HTML form encoding)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode_multipart(
    fields: Mapping[str, Any], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """The body and its ``Content-Type`` (with boundary) for form ``fields`` and ``files``."""
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, content, kind) in files.items():
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {kind}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def multipart_request(
    route: str,
    *,
    file: FileInput,
    default_name: str,
    fields: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
) -> PreparedRequest:
    """A POST of one file (form field ``file``) plus plain form fields."""
    named = await read_file(file, default_name)
    content, content_type = encode_multipart(fields or {}, {"file": named})
    return PreparedRequest(
        "POST", route, params=params, body=content, headers={"Content-Type": content_type}
    )
