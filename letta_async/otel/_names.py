"""Every attribute, event and instrument name the instrumentation emits, in one place.

HTTP names follow the stable HTTP client semantic conventions; token usage, agent and
conversation ids, finish reasons and the time to the first chunk use the GenAI conventions'
names. What neither convention covers (runs, resumes, events delivered, stop reasons) is
named under ``letta.``. The GenAI names are spelled out rather than imported: the semantic
conventions package marks them as moved to a separate GenAI registry, and a name on the wire
must not change because an import path did.
"""

from __future__ import annotations

from typing import Final

# --- HTTP client conventions (stable) ---------------------------------------------------------
HTTP_REQUEST_METHOD: Final = "http.request.method"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"
HTTP_REQUEST_RESEND_COUNT: Final = "http.request.resend_count"
URL_FULL: Final = "url.full"
URL_TEMPLATE: Final = "url.template"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"

# --- GenAI conventions ------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
INVOKE_AGENT: Final = "invoke_agent"
"""``gen_ai.operation.name`` of a stream that sent a message: the agent runs."""
PROVIDER: Final = "letta"

# --- this client's own ------------------------------------------------------------------------
LETTA_RUN_ID: Final = "letta.run.id"
LETTA_STOP_REASON: Final = "letta.stream.stop_reason"
LETTA_EVENTS: Final = "letta.stream.events"
"""Events handed to the caller (pings, stop reason and usage included)."""
LETTA_RESUMES: Final = "letta.stream.resumes"
LETTA_BACKGROUND: Final = "letta.stream.background"
LETTA_COMPLETED: Final = "letta.stream.completed"
"""True when the server ended the stream; False when the caller closed it before that."""
LETTA_TOTAL_TOKENS: Final = "letta.usage.total_tokens"
LETTA_STEP_COUNT: Final = "letta.usage.step_count"
LETTA_CONTEXT_TOKENS: Final = "letta.usage.context_tokens"

# --- span events ------------------------------------------------------------------------------
EVENT_RETRY: Final = "letta.retry"
EVENT_RESUME: Final = "letta.resume"
RETRY_ATTEMPT: Final = "letta.retry.attempt"
RETRY_DELAY: Final = "letta.retry.delay_s"
RESUME_ATTEMPT: Final = "letta.resume.attempt"
RESUME_STARTING_AFTER: Final = "letta.resume.starting_after"

# --- instruments ------------------------------------------------------------------------------
METRIC_REQUEST_DURATION: Final = "http.client.request.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_STREAM_DURATION: Final = "letta.stream.duration"
METRIC_STREAM_EVENTS: Final = "letta.stream.events"
METRIC_STREAM_RESUMES: Final = "letta.stream.resumes"
METRIC_STREAM_ACTIVE: Final = "letta.stream.active"

HTTP_DURATION_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
"""The HTTP conventions' advised boundaries for ``http.client.request.duration``."""
GEN_AI_DURATION_BUCKETS: Final = (
    0.01,
    0.02,
    0.04,
    0.08,
    0.16,
    0.32,
    0.64,
    1.28,
    2.56,
    5.12,
    10.24,
    20.48,
    40.96,
    81.92,
)
"""The GenAI conventions' advised boundaries for operation durations and first chunks."""
TOKEN_BUCKETS: Final = (
    1,
    4,
    16,
    64,
    256,
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
    67108864,
)
"""The GenAI conventions' advised boundaries for ``gen_ai.client.token.usage``."""
