"""Optional OpenTelemetry tracing across Kafka hops (``FRONTLINE_TRACING``; off by default).

A record's W3C ``traceparent`` travels in its Kafka headers, so one trace follows a message from
the webhook through intake, the ledger and every consumer of the ledger's events. Off, nothing
of OpenTelemetry is imported and publishing adds no header: the hot path pays nothing.

- ``otlp``: spans go to an OTLP/HTTP collector (``OTEL_EXPORTER_OTLP_ENDPOINT`` and the other
  standard ``OTEL_*`` variables apply); needs the ``tracing`` extra.
- ``console``: spans printed as JSON on stdout (a quick look on one machine).
- ``memory``: kept in the process (tests read them with :func:`finished_spans`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, Literal

TracingMode = Literal["off", "otlp", "console", "memory"]
Headers = list[tuple[str, bytes]]

_lock = threading.Lock()
_providers: dict[tuple[str, str], Any] = {}
_memory: Any = None


def _provider(service: str, mode: TracingMode) -> Any:
    """One SDK tracer provider per service and mode in a process (tests run several services in one)."""
    global _memory
    with _lock:
        if (service, mode) in _providers:
            return _providers[(service, mode)]
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": f"frontline-{service}"}))
        if mode == "memory":
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

            _memory = _memory or InMemorySpanExporter()
            provider.add_span_processor(SimpleSpanProcessor(_memory))
        elif mode == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _providers[(service, mode)] = provider
        return provider


def finished_spans() -> Sequence[Any]:
    """Spans recorded in ``memory`` mode by every service of this process."""
    return tuple(_memory.get_finished_spans()) if _memory is not None else ()


class Tracing:
    """Producer and consumer spans for one service's Kafka traffic."""

    def __init__(self, service: str, mode: TracingMode = "off") -> None:
        self.service, self.mode = service, mode
        self._tracer = _provider(service, mode).get_tracer("frontline.kafka") if mode != "off" else None

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @contextmanager
    def _span(self, name: str, kind_name: str, attributes: dict[str, Any], parent: Any = None) -> Iterator[Any]:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        assert self._tracer is not None
        with self._tracer.start_as_current_span(name, context=parent, kind=getattr(SpanKind, kind_name),
                                                attributes=attributes, record_exception=True) as span:
            try:
                yield span
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, repr(exc)))
                raise

    def produce(self, topic: str, headers: Headers, ticket_id: str | None = None,
                type_: str | None = None) -> Any:
        """A producer span whose context is written into ``headers`` (modified in place)."""
        if self._tracer is None:
            return nullcontext()
        return self._produce(topic, headers, ticket_id, type_)

    @contextmanager
    def _produce(self, topic: str, headers: Headers, ticket_id: str | None, type_: str | None) -> Iterator[None]:
        from opentelemetry.propagate import inject

        with self._span(f"{topic} publish", "PRODUCER", _attributes(topic, ticket_id, type_)):
            carrier: dict[str, str] = {}
            inject(carrier)
            headers[:] = [(k, v) for k, v in headers if k not in carrier]
            headers.extend((k, v.encode()) for k, v in carrier.items())
            yield

    def consume(self, topic: str, headers: Sequence[tuple[str, bytes]] | None, group: str,
                ticket_id: str | None = None, type_: str | None = None) -> Any:
        """A consumer span, child of the producer's, around handling one record."""
        if self._tracer is None:
            return nullcontext()
        from opentelemetry.propagate import extract

        carrier = {k: v.decode(errors="replace") for k, v in (headers or [])}
        attributes = _attributes(topic, ticket_id, type_) | {"messaging.consumer.group.name": group}
        return self._span(f"{topic} process", "CONSUMER", attributes, parent=extract(carrier))


def _attributes(topic: str, ticket_id: str | None, type_: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"messaging.system": "kafka", "messaging.destination.name": topic}
    if ticket_id:
        out["frontline.ticket_id"] = ticket_id
    if type_:
        out["frontline.message_type"] = type_
    return out
