"""The small map that, with the OpenAPI document and the official surface, defines the resources.

``tools/gen_resources.py`` reads three sources:

* ``tools/official_surface.json``: every method of the official SDK (name, parameters with
  their defaults and wire locations, return type, route), written by
  ``tools/official_surface.py``. Those methods are generated with exactly that surface.
* ``tests/fixtures/openapi.json``: the server's routes. Routes the official SDK does not
  cover are reachable under the names in :data:`EXTRA_METHODS`, with parameters taken from
  the document.
* this file: the names above, the methods whose behaviour is written by hand
  (:data:`CUSTOM`), and the listings with Letta's message-history cursor rule.

Nothing here is imported by the package.
"""

from __future__ import annotations

EXTRA_METHODS: dict[str, str] = {
    # This client's names for routes the official SDK lacks: dotted name -> operationId.
    "agents.count": "count_agents",
    "agents.export_with_skills": "export_agent_with_skills",
    "agents.generate": "generate_completion",
    "agents.groups.list": "list_groups_for_agent",
    "agents.messages.preview_raw_payload": "preview_model_request",
    "agents.messages.search": "search_messages",
    "archives.agents.list": "list_agents_for_archive",
    "batches.cancel": "cancel_batch",
    "batches.list": "list_batches",
    "batches.messages.list": "list_messages_for_batch",
    "batches.retrieve": "retrieve_batch",
    "blocks.count": "count_blocks",
    "blocks.identities.attach": "attach_identity_to_block",
    "blocks.identities.detach": "detach_identity_from_block",
    "conversations.messages.preview_raw_payload": "preview_conversation_model_request",
    "embeddings.total_storage_size": "get_total_storage_size",
    "folders.count": "count_folders",
    "folders.passages.list": "list_folder_passages",
    "folders.retrieve_metadata": "retrieve_metadata",
    "identities.count": "count_identities",
    "identities.create": "create_identity",
    "identities.delete": "delete_identity",
    "identities.list": "list_identities",
    "identities.retrieve": "retrieve_identity",
    "identities.update": "update_identity",
    "identities.upsert": "upsert_identity",
    "identities.agents.list": "list_agents_for_identity",
    "identities.blocks.list": "list_blocks_for_identity",
    "identities.properties.upsert": "upsert_properties_for_identity",
    "jobs.cancel": "cancel_job",
    "jobs.delete": "delete_job",
    "jobs.list": "list_jobs",
    "jobs.retrieve": "retrieve_job",
    "mcp_servers.connect": "mcp_connect_mcp_server",
    "providers.check": "check_provider",
    "providers.check_existing": "check_existing_provider",
    "providers.create": "create_provider",
    "providers.delete": "delete_provider",
    "providers.list": "list_providers",
    "providers.refresh": "refresh_provider_models",
    "providers.retrieve": "retrieve_provider",
    "providers.update": "modify_provider",
    "runs.delete": "delete_run",
    "runs.metrics.retrieve": "retrieve_metrics_for_run",
    "sandbox_config.create": "create_sandbox_config_v1_sandbox_config__post",
    "sandbox_config.create_default_e2b": (
        "create_default_e2b_sandbox_config_v1_sandbox_config_e2b_default_post"
    ),
    "sandbox_config.create_default_local": (
        "create_default_local_sandbox_config_v1_sandbox_config_local_default_post"
    ),
    "sandbox_config.create_local": (
        "create_custom_local_sandbox_config_v1_sandbox_config_local_post"
    ),
    "sandbox_config.delete": "delete_sandbox_config_v1_sandbox_config__sandbox_config_id__delete",
    "sandbox_config.environment_variables.create": (
        "create_sandbox_env_var_v1_sandbox_config__sandbox_config_id__environment_variable_post"
    ),
    "sandbox_config.environment_variables.delete": (
        "delete_sandbox_env_var_v1_sandbox_config_environment_variable__env_var_id__delete"
    ),
    "sandbox_config.environment_variables.list": (
        "list_sandbox_env_vars_v1_sandbox_config__sandbox_config_id__environment_variable_get"
    ),
    "sandbox_config.environment_variables.update": (
        "update_sandbox_env_var_v1_sandbox_config_environment_variable__env_var_id__patch"
    ),
    "sandbox_config.list": "list_sandbox_configs_v1_sandbox_config__get",
    "sandbox_config.recreate_local_venv": (
        "force_recreate_local_sandbox_venv_v1_sandbox_config_local_recreate_venv_post"
    ),
    "sandbox_config.update": "update_sandbox_config_v1_sandbox_config__sandbox_config_id__patch",
    "server.check": "check_health",
    "server.ready": "check_readiness",
    "steps.update_transaction_id": "update_step_transaction_id",
    "tools.add_base_tools": "add_base_tools",
    "tools.count": "count_tools",
    "tools.generate": "generate_tool",
    "tools.generate_json_schema": "generate_json_schema",
    "tools.mcp_servers.add_server": "add_mcp_server",
    "tools.mcp_servers.add_tool": "add_mcp_tool",
    "tools.mcp_servers.connect_server": "connect_mcp_server",
    "tools.mcp_servers.delete_server": "delete_mcp_server",
    "tools.mcp_servers.execute_tool": "execute_mcp_tool",
    "tools.mcp_servers.list_servers": "list_mcp_servers",
    "tools.mcp_servers.list_tools": "list_mcp_tools_by_server",
    "tools.mcp_servers.resync_tools": "resync_mcp_server_tools",
    "tools.mcp_servers.test_server": "test_mcp_server",
    "tools.mcp_servers.update_server": "update_mcp_server",
    "tools.run_from_source": "run_tool_from_source",
}

EXTRA_PAGINATED: frozenset[str] = frozenset(
    {
        # Extra listings that take before/after/limit cursors: they return a paginator.
        "agents.groups.list",
        "archives.agents.list",
        "batches.list",
        "batches.messages.list",
        "folders.passages.list",
        "identities.list",
        "identities.agents.list",
        "identities.blocks.list",
        "jobs.list",
        "providers.list",
        "sandbox_config.list",
        "sandbox_config.environment_variables.list",
    }
)

MESSAGE_HISTORY: frozenset[str] = frozenset(
    {
        # Listings whose desc pages come oldest-to-newest (see letta_async._pagination).
        "agents.messages.list",
        "batches.messages.list",
    }
)

POSITION_CURSORS: frozenset[str] = frozenset(
    {
        # A conversation's history: truly newest-first for desc, its cursors positions in
        # the conversation whatever the order (see letta_async._pagination).
        "conversations.messages.list",
    }
)

RUN_MESSAGE_CURSORS: frozenset[str] = frozenset(
    {
        # A run's messages: positions like a conversation's, but asc by default.
        "runs.messages.list",
    }
)

TIME_CURSORS: frozenset[str] = frozenset(
    {
        # Listings whose cursors Letta reads in time, swapped for asc: the next page is
        # before=<last id> in both orders (see letta_async._pagination).
        "runs.list",
    }
)

POST_KINDS: dict[str, str] = {
    # POST routes that create nothing, so that a failed attempt may be sent again like a GET
    # (letta_async._retry). Every other POST counts as creating something and is re-sent
    # only when the server cannot have acted on it.
    # Reads: searches, previews, checks and pure computations.
    "agents.messages.preview_raw_payload": "read",
    "agents.messages.search": "read",
    "conversations.messages.preview_raw_payload": "read",
    "messages.search": "read",
    "passages.search": "read",
    "providers.check": "read",
    "providers.check_existing": "read",
    "tools.generate_json_schema": "read",
    "tools.mcp_servers.test_server": "read",
    "tools.search": "read",
    # Idempotent: a second request leaves the same state as the first.
    "agents.messages.cancel": "idempotent",
    "agents.recompile": "idempotent",
    "conversations.cancel": "idempotent",
    "conversations.recompile": "idempotent",
    "tools.add_base_tools": "idempotent",
    "tools.mcp_servers.resync_tools": "idempotent",
}

OURS = "ours"
"""Marks a parameter that the official SDK does not have (a keyword of this client's own)."""

_STREAM_EXTRAS = (
    ("resumable", "bool", "False"),
    ("cancel_on_exit", "bool", "False"),
    ("poll_interval", "float | None", "None"),
    ("resume", "ResumeSettings | None", "None"),
    ("errors_as_events", "bool", "False"),
)

CUSTOM: dict[str, dict[str, object]] = {
    # Methods whose signature is generated but whose behaviour is hand-written in
    # letta_async/resources/_sending.py: "impl" names the mixin method the body calls,
    # "extras" are keyword parameters of this client's own, "overloads" asks for
    # @overload variants on the ``streaming`` flag.
    "agents.messages.stream": {"impl": "_open_stream", "extras": _STREAM_EXTRAS},
    "agents.messages.create": {
        "impl": "_send",
        "extras": _STREAM_EXTRAS,
        "overloads": "streaming-opt-in",
    },
    "agents.messages.create_async": {"impl": "_send_async"},
    "conversations.messages.create": {
        "impl": "_send",
        "extras": _STREAM_EXTRAS,
        "overloads": "streaming-default",
    },
    "conversations.messages.stream": {"impl": "_follow_run", "extras": _STREAM_EXTRAS[3:4]},
    "runs.messages.stream": {"impl": "_follow_run", "extras": _STREAM_EXTRAS[3:4]},
    "folders.files.upload": {"impl": "_upload"},
    # Routes that answer with server-sent JSON events (the MCP OAuth connect flow).
    "mcp_servers.connect": {"impl": "_json_events"},
    "tools.mcp_servers.connect_server": {"impl": "_json_events"},
    "agents.import_file": {"impl": "_upload"},
}

MIXINS: dict[str, str] = {
    # Resource -> "module:Class" of the hand-written mixin it inherits behaviour from.
    "agents": "_sending:Uploading",
    "agents.messages": "_sending:AgentMessageSending",
    "batches": "_sending:BatchSending",
    "chat.completions": "_chat:ChatCompletionSending",
    "conversations.messages": "_sending:ConversationMessageSending",
    "folders.files": "_sending:Uploading",
    "mcp_servers": "_json_stream:EventStreaming",
    "runs": "_sending:RunFollowing",
    "runs.messages": "_sending:StreamFollowing",
    "tools.mcp_servers": "_json_stream:EventStreaming",
}

SYNC_MIXINS: dict[str, str] = {
    # The sync client's counterparts of the mixins' own public methods (those the map does not
    # generate): "module:Class" in letta_async/resources/, forwarding to the async ones.
    "batches": "_sync_extras:SyncBatchSending",
    "chat.completions": "_sync_extras:SyncChatCompletionSending",
    "runs": "_sync_extras:SyncRunFollowing",
}
