"""The metric instruments, made once per instrumentation from the meter it was given."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

from . import _names as N

__all__ = ["Instruments"]


@dataclass(frozen=True)
class Instruments:
    """Every instrument the traces record into."""

    request_duration: Histogram
    time_to_first_chunk: Histogram
    token_usage: Histogram
    stream_duration: Histogram
    stream_events: Counter
    resumes: Counter
    active_streams: UpDownCounter

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        """Make the instruments on ``meter`` with the conventions' units and advised buckets."""
        return cls(
            request_duration=meter.create_histogram(
                N.METRIC_REQUEST_DURATION,
                unit="s",
                description="Duration of HTTP client requests (one per API call, retries in).",
                explicit_bucket_boundaries_advisory=N.HTTP_DURATION_BUCKETS,
            ),
            time_to_first_chunk=meter.create_histogram(
                N.METRIC_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time from opening a stream to its first event that is not a ping.",
                explicit_bucket_boundaries_advisory=N.GEN_AI_DURATION_BUCKETS,
            ),
            token_usage=meter.create_histogram(
                N.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Input and output tokens a stream's run reported.",
                explicit_bucket_boundaries_advisory=N.TOKEN_BUCKETS,
            ),
            stream_duration=meter.create_histogram(
                N.METRIC_STREAM_DURATION,
                unit="s",
                description="A stream's whole life, across its resumes.",
                explicit_bucket_boundaries_advisory=N.GEN_AI_DURATION_BUCKETS,
            ),
            stream_events=meter.create_counter(
                N.METRIC_STREAM_EVENTS,
                unit="{event}",
                description="Events streams handed to their callers.",
            ),
            resumes=meter.create_counter(
                N.METRIC_STREAM_RESUMES,
                unit="{resume}",
                description="Reconnections of background streams to their runs.",
            ),
            active_streams=meter.create_up_down_counter(
                N.METRIC_STREAM_ACTIVE,
                unit="{stream}",
                description="Streams opened and not yet ended.",
            ),
        )
