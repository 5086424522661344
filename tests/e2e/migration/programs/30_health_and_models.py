"""Start-up checks: the client as an async context manager, health, and the model catalogue."""

import asyncio
import os

from letta_client import AsyncLetta

MODEL = "openai-proxy/fake-model"
EMBEDDING = "openai/text-embedding-3-small"


async def main() -> None:
    base_url = os.environ["LETTA_BASE_URL"]
    async with AsyncLetta(base_url=base_url, max_retries=1) as client:
        print("base url taken:", str(client.base_url).rstrip("/") == base_url.rstrip("/"))
        health = await client.health()
        print("health:", health.status, health.version)

        models = await client.models.list()
        handles = sorted(m.handle or "" for m in models)
        print("our model is offered:", MODEL in handles)
        ours = next(m for m in models if m.handle == MODEL)
        print("model name:", ours.name, "provider type:", ours.provider_type)
        print("context window is positive:", ours.context_window > 0)

        embeddings = await client.models.embeddings.list()
        embedding_handles = [e.handle for e in embeddings]
        print("our embedding is offered:", EMBEDDING in embedding_handles)
        chosen = next(e for e in embeddings if e.handle == EMBEDDING)
        print("embedding dimension:", chosen.embedding_dim)
    print("closed after the block:", client.is_closed())

    from_env = AsyncLetta()
    try:
        print("env client health:", (await from_env.health()).status)
    finally:
        await from_env.close()
    print("closed explicitly:", from_env.is_closed())


asyncio.run(main())
