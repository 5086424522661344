"""``LettaAsyncInstrumentor``: OpenTelemetry tracing and metrics for every letta-async client.

Built on ``opentelemetry-instrumentation``'s ``BaseInstrumentor`` so that it behaves like
every other instrumentor: ``instrument(tracer_provider=..., meter_provider=...)`` once per
process, ``uninstrument()`` to stop, and the ``opentelemetry_instrumentor`` entry point for
``opentelemetry-instrument``. Instrumenting installs one observer in ``letta_async._observe``;
nothing is patched, so uninstrumenting is exact: the client's hooks see ``None`` again.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

# The module opens with a file-wide "type: ignore", so type checkers see none of its names.
from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.metrics import get_meter
from opentelemetry.trace import get_tracer

from .. import _observe
from .._version import __version__
from ._instruments import Instruments
from ._traces import OtelObserver

__all__ = ["SCHEMA_URL", "LettaAsyncInstrumentor"]

SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"
"""The semantic-conventions version whose HTTP names the spans and metrics use."""


class LettaAsyncInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces every API call and every stream of every ``AsyncLetta`` client in the process.

    ``LettaAsyncInstrumentor().instrument()`` uses the global tracer and meter providers;
    pass ``tracer_provider=`` and ``meter_provider=`` to choose others. Calls and streams
    started after ``uninstrument()`` are not traced; those already running finish their spans.
    """

    def instrumentation_dependencies(self) -> Collection[str]:
        """None to check: the instrumentor ships inside the package it instruments."""
        return ()

    def _instrument(self, **kwargs: Any) -> None:
        tracer = get_tracer(
            __name__,
            __version__,
            tracer_provider=kwargs.get("tracer_provider"),
            schema_url=SCHEMA_URL,
        )
        meter = get_meter(
            __name__,
            __version__,
            meter_provider=kwargs.get("meter_provider"),
            schema_url=SCHEMA_URL,
        )
        _observe.install(OtelObserver(tracer, Instruments.create(meter)))

    def _uninstrument(self, **kwargs: Any) -> None:
        _observe.uninstall()
