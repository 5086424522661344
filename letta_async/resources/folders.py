"""``client.folders``: document collections agents can read and search.

Files uploaded to a folder are parsed, chunked and embedded into passages; attaching the folder
to an agent (``client.agents.folders.attach``) lets the agent open and search its files. The
server's older name for a folder is a *source*: folder ids look like ``source-<uuid>``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any, Literal

from .._pagination import AsyncPaginator
from .._urls import path
from ..types._spec import (
    DuplicateFileHandling,
    EmbeddingConfig,
    FileMetadata,
    Folder,
    OrganizationSourcesStats,
    Passage,
)
from ._common import ApiResource, KeyedPaginator, endpoint, json_body, query_params
from ._upload import FileInput, multipart_request

__all__ = ["FolderAgents", "FolderFiles", "FolderPassages", "Folders"]


class FolderAgents(ApiResource):
    """``client.folders.agents``: which agents can read a folder."""

    @endpoint("GET", "/v1/folders/{folder_id}/agents")
    def list(
        self,
        folder_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[str]:
        """Ids of the agents this folder is attached to, across pages."""
        route = path("/v1/folders/{}/agents", folder_id)

        async def fetch(params: dict[str, Any]) -> builtins.list[str]:
            result: builtins.list[str] = await self._call(
                "GET", route, builtins.list[str], params=params
            )
            return result

        params = query_params(
            before=before, after=after, limit=limit, order=order, order_by=order_by
        )
        return KeyedPaginator(fetch, params, cursor=lambda agent_id: agent_id)


class FolderFiles(ApiResource):
    """``client.folders.files``: the documents in a folder."""

    @endpoint("POST", "/v1/folders/{folder_id}/upload")
    async def upload(
        self,
        folder_id: str,
        *,
        file: FileInput,
        duplicate_handling: DuplicateFileHandling | None = None,
        name: str | None = None,
    ) -> FileMetadata:
        """Upload a document; the server parses, chunks and embeds it in the background.

        ``file`` is the content as bytes, a path, an open binary file, or a
        ``(filename, bytes[, content_type])`` tuple. The returned metadata's
        ``processing_status`` tells when the file is ready to search.
        """
        request = await multipart_request(
            path("/v1/folders/{}/upload", folder_id),
            file=file,
            default_name=name or "upload",
            params=query_params(duplicate_handling=duplicate_handling, name=name),
        )
        return await self._transport.request(request, FileMetadata)  # type: ignore[no-any-return]

    @endpoint("GET", "/v1/folders/{folder_id}/files")
    def list(
        self,
        folder_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        include_content: bool | None = None,
    ) -> AsyncPaginator[FileMetadata]:
        """Files in the folder with their processing status, across pages."""
        return self._paginate(
            path("/v1/folders/{}/files", folder_id),
            FileMetadata,
            query_params(
                before=before,
                after=after,
                limit=limit,
                order=order,
                order_by=order_by,
                include_content=include_content,
            ),
        )

    @endpoint("GET", "/v1/folders/{folder_id}/files/{file_id}")
    async def retrieve(
        self, file_id: str, *, folder_id: str, include_content: bool | None = None
    ) -> FileMetadata:
        """One file's metadata (``include_content=True`` adds its parsed text)."""
        return await self._request(
            "GET",
            path("/v1/folders/{}/files/{}", folder_id, file_id),
            FileMetadata,
            params=query_params(include_content=include_content),
        )

    @endpoint("DELETE", "/v1/folders/{folder_id}/{file_id}")
    async def delete(self, file_id: str, *, folder_id: str) -> None:
        """Delete a file and its passages from the folder."""
        await self._request("DELETE", path("/v1/folders/{}/{}", folder_id, file_id), None)


class FolderPassages(ApiResource):
    """``client.folders.passages``: the searchable chunks made from a folder's files."""

    @endpoint("GET", "/v1/folders/{folder_id}/passages")
    def list(
        self,
        folder_id: str,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
    ) -> AsyncPaginator[Passage]:
        """Passages made from the folder's files, across pages."""
        return self._paginate(
            path("/v1/folders/{}/passages", folder_id),
            Passage,
            query_params(before=before, after=after, limit=limit, order=order, order_by=order_by),
        )


class Folders(ApiResource):
    """``client.folders``."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.agents = FolderAgents(client)
        self.files = FolderFiles(client)
        self.passages = FolderPassages(client)

    @endpoint("POST", "/v1/folders/")
    async def create(
        self,
        *,
        name: str,
        description: str | None = None,
        instructions: str | None = None,
        metadata: dict[str, Any] | None = None,
        embedding: str | None = None,
        embedding_chunk_size: int | None = None,
        embedding_config: EmbeddingConfig | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Folder:
        """Create a folder; ``embedding`` picks the model its passages are embedded with."""
        return await self._request(
            "POST",
            "/v1/folders/",
            Folder,
            json=json_body(
                name=name,
                description=description,
                instructions=instructions,
                metadata=metadata,
                embedding=embedding,
                embedding_chunk_size=embedding_chunk_size,
                embedding_config=embedding_config,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/folders/{folder_id}")
    async def retrieve(self, folder_id: str) -> Folder:
        """One folder."""
        return await self._request("GET", path("/v1/folders/{}", folder_id), Folder)

    @endpoint("PATCH", "/v1/folders/{folder_id}")
    async def update(
        self,
        folder_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        metadata: dict[str, Any] | None = None,
        embedding_config: EmbeddingConfig | Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Folder:
        """Change a folder's name, description, instructions or metadata."""
        return await self._request(
            "PATCH",
            path("/v1/folders/{}", folder_id),
            Folder,
            json=json_body(
                name=name,
                description=description,
                instructions=instructions,
                metadata=metadata,
                embedding_config=embedding_config,
            ),
            extra_body=extra_body,
        )

    @endpoint("GET", "/v1/folders/")
    def list(
        self,
        *,
        before: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        order_by: Literal["created_at"] | None = None,
        name: str | None = None,
    ) -> AsyncPaginator[Folder]:
        """Folders, across pages."""
        return self._paginate(
            "/v1/folders/",
            Folder,
            query_params(
                before=before, after=after, limit=limit, order=order, order_by=order_by, name=name
            ),
        )

    @endpoint("DELETE", "/v1/folders/{folder_id}")
    async def delete(self, folder_id: str) -> None:
        """Delete a folder with its files and passages."""
        await self._request("DELETE", path("/v1/folders/{}", folder_id), None)

    @endpoint("GET", "/v1/folders/count")
    async def count(self) -> int:
        """How many folders exist, without fetching them."""
        return await self._request("GET", "/v1/folders/count", int)

    @endpoint("GET", "/v1/folders/metadata")
    async def retrieve_metadata(
        self, *, include_detailed_per_source_metadata: bool | None = None
    ) -> OrganizationSourcesStats:
        """File and size totals for every folder of the organisation, in one call.

        Letta 0.16.8 routes ``GET /v1/folders/metadata`` to the folder-by-id handler and answers
        422; newer servers answer it as documented.
        """
        return await self._request(
            "GET",
            "/v1/folders/metadata",
            OrganizationSourcesStats,
            params=query_params(
                include_detailed_per_source_metadata=include_detailed_per_source_metadata
            ),
        )
