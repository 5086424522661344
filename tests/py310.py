"""Allowances for Python 3.10's asyncio, each for the tests that meet it only."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

__all__ = ["asyncio_310_tls"]

Test = TypeVar("Test", bound=Callable[..., Any])


def asyncio_310_tls(test: Test) -> Test:
    """Python 3.10's asyncio does not mark a TLS transport closed when its connection is lost
    (3.11 rewrote the SSL layer and does), so a connection that was closed warns "unclosed
    transport" when it is collected. Ignored on 3.10 only, for the TLS tests only."""
    if sys.version_info >= (3, 11):
        return test
    unclosed = "ignore:unclosed transport <asyncio.sslproto._SSLProtocolTransport:ResourceWarning"
    return pytest.mark.filterwarnings(unclosed)(test)
