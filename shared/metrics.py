"""Prometheus metrics every service exposes on ``/metrics``."""

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
CONSUMER_LAG = Gauge(
    "frontline_consumer_lag", "Records behind the partition end", ["service", "topic", "partition"]
)
HTTP_LATENCY = Histogram(
    "frontline_http_request_seconds", "HTTP request latency", ["service", "method", "route", "status"]
)
SLA_TIMERS_PENDING = Gauge("frontline_sla_timers_pending", "SLA timers waiting to fire", ["service"])
NOTIFICATIONS = Counter(
    "frontline_notifications_total",
    "Notify's push deliveries by channel (email, sms, chat) and outcome: sent; retried (a transient failure, "
    "tried again later); failed (given up, dead-lettered); undelivered (an SMS the carrier lost after accepting it)",
    ["channel", "outcome"],
)
