"""The page classes of list methods, at the path the official SDK has them
(``letta_client.pagination``)."""

from __future__ import annotations

from ._pagination import (
    AsyncArrayPage,
    AsyncNextFilesPage,
    AsyncObjectPage,
    AsyncPaginator,
    BasePage,
    PageInfo,
)
from ._sync import BaseSyncPage, SyncArrayPage, SyncNextFilesPage, SyncObjectPage

__all__ = [
    "AsyncArrayPage",
    "AsyncNextFilesPage",
    "AsyncObjectPage",
    "AsyncPaginator",
    "BasePage",
    "BaseSyncPage",
    "PageInfo",
    "SyncArrayPage",
    "SyncNextFilesPage",
    "SyncObjectPage",
]
