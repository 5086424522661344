"""OpenTelemetry for letta-async: ``pip install 'letta-async[otel]'``.

::

    from letta_async.otel import LettaAsyncInstrumentor

    LettaAsyncInstrumentor().instrument(tracer_provider=..., meter_provider=...)

or run the program under ``opentelemetry-instrument``, which finds the instrumentor through
the ``opentelemetry_instrumentor`` entry point. Spans: one per API call (HTTP client
conventions, named after the route template) and one per stream covering its whole life,
resumes included, with the run, stop reason, events delivered, time to the first event and
token usage. Metrics: request duration, time to first chunk, events, resumes, active streams,
token usage. The README's "OpenTelemetry" section lists every name.

The client itself never imports this package or OpenTelemetry.
"""

from __future__ import annotations

from ._instrumentor import SCHEMA_URL, LettaAsyncInstrumentor

__all__ = ["SCHEMA_URL", "LettaAsyncInstrumentor"]
