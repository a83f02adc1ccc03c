"""Prometheus metrics every service exposes on ``/metrics`` (on its metrics port: ``shared.runtime.service.serve``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "frontline_messages_consumed_total", "Records consumed", ["service", "topic"]
)
MESSAGES_PRODUCED = Counter(
    "frontline_messages_produced_total", "Records produced", ["service", "topic"]
)
DEAD_LETTERS = Counter(
    "frontline_dead_letters_total", "Records sent to a dead-letter topic", ["service", "topic"]
)
HANDLER_LATENCY = Histogram(
    "frontline_handler_seconds", "Time to handle one record", ["service", "topic"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
# Where a record's time goes between services: from its producer's timestamp (taken when it is handed to the
# producer) to the consumer loop taking it from a fetch, then its partition's batch, then a publish to its ack.
_HOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5)
RECORD_WAIT = Histogram(
    "frontline_record_wait_seconds", "From a record's producer timestamp to its consumer taking it from a fetch",
    ["service", "topic"], buckets=_HOP_BUCKETS,
)
BATCH_LATENCY = Histogram(
    "frontline_batch_seconds", "Time to handle one partition's fetched records, publishes included",
    ["service", "topic"], buckets=_HOP_BUCKETS,
)
PUBLISH_LATENCY = Histogram(
    "frontline_publish_seconds", "From handing records to the producer to the broker's acknowledgement",
    ["service", "topic"], buckets=_HOP_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "frontline_consumer_lag", "Records behind the partition end", ["service", "topic", "partition"]
)
HTTP_LATENCY = Histogram(
    "frontline_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)
# Label values come from a fixed set: a client choosing them (any method name, any path) must not be able to
# grow the page without bound.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_labels(service: str, method: str, route: str | None, status: int) -> tuple[str, str, str, str]:
    """``HTTP_LATENCY``'s labels: a known method or OTHER, the route template or unmatched, the status code."""
    status_label = str(status) if 100 <= status <= 599 else "other"
    return service, method if method in HTTP_METHODS else "OTHER", route or "unmatched", status_label
CONSUMER_RESTARTS = Counter(
    "frontline_consumer_restarts_total", "Consumer loops that died and were restarted", ["service", "topic"]
)
DEAD_LETTERS_LOST = Counter(
    "frontline_dead_letters_lost_total",
    "Records that could not be dead-lettered even as a truncated copy (logged with their coordinates, skipped)",
    ["service", "topic"],
)
SLA_TIMERS_PENDING = Gauge("frontline_sla_timers_pending", "SLA timers waiting to fire", ["service"])
NOTIFICATIONS = Counter(
    "frontline_notifications_total",
    "Notify's push deliveries by channel (email, sms, chat) and outcome: sent; retried (a transient failure, "
    "tried again later); failed (given up, dead-lettered); undelivered (an SMS the carrier lost after accepting it)",
    ["channel", "outcome"],
)
