"""Where a ticket's time goes on the way to its offer, hop by hop.

Per ticket, from the records themselves: each record's producer timestamp (taken when a service hands it to its
producer) on ``tickets.commands`` and ``tickets.events``, so the gap between two records of a ticket is the next
service's whole hop (its consumer's wait for the record, its batch, up to handing its output to the producer).
Per service and topic, from the services' metrics pages (``frontline_record_wait_seconds``,
``frontline_batch_seconds``, ``frontline_publish_seconds``, diffed over a phase): how a hop splits into waiting for
the record (producer linger and acknowledgement, broker, fetch wait, the partition's previous batch), handling it,
and the publish's acknowledgement.
"""

from __future__ import annotations

import urllib.request
from collections import defaultdict
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.common import summary_ms

# the records of one new ticket, in order, with the service whose hop ends at each
CHAIN = (("ReceiveMessage", "intake"), ("TicketOpened", "ledger"), ("OfferTicket", "routing"),
         ("TicketOffered", "ledger"))
HISTOGRAMS = ("frontline_record_wait_seconds", "frontline_batch_seconds", "frontline_publish_seconds",
              "frontline_handler_seconds")
Buckets = dict[tuple[str, str, str], dict[str, Any]]


def per_ticket(sent: dict[str, float], stamps: dict[str, dict[str, float]], arrived: dict[str, float],
               external: dict[str, str]) -> dict[str, Any]:
    """Per hop, p50/p99 over the tickets of one phase. ``sent``: external id → wall time of the inbound publish;
    ``stamps``: ticket → record type → producer timestamp (s); ``arrived``: ticket → wall time the offer reached
    the bench's reader."""
    hops: dict[str, list[float]] = defaultdict(list)
    for tid, ext in external.items():
        if ext not in sent or tid not in arrived:
            continue
        at, prev = stamps.get(tid, {}), sent[ext]
        for kind, service in CHAIN:
            if kind not in at:
                break
            hops[f"{service}: ... -> {kind}"].append(at[kind] - prev)
            prev = at[kind]
        else:
            hops["bench reader: TicketOffered produced -> read"].append(arrived[tid] - prev)
    return {name: summary_ms(values) for name, values in hops.items()}


def scrape(urls: dict[str, str]) -> Buckets:
    """Cumulative bucket counts, sum and count of the hop histograms, per (process, series, topic)."""
    out: Buckets = {}
    for process, url in urls.items():
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - our own service on loopback
            text = resp.read().decode()
        for fam in text_string_to_metric_families(text):
            if fam.name not in HISTOGRAMS:
                continue
            for s in fam.samples:
                entry = out.setdefault((process, fam.name, s.labels.get("topic", "")), {"le": {}})
                if s.name.endswith("_bucket"):
                    entry["le"][float(s.labels["le"])] = s.value
                elif s.name.endswith("_sum"):
                    entry["sum"] = s.value
                elif s.name.endswith("_count"):
                    entry["count"] = s.value
    return out


def _quantile(le: dict[float, float], q: float) -> float | None:
    """Linear interpolation inside the bucket that holds the quantile (as Prometheus' histogram_quantile)."""
    edges = sorted(le)
    total = le[edges[-1]] if edges else 0
    if total <= 0:
        return None
    rank, lo_edge, lo_count = q * total, 0.0, 0.0
    for edge in edges:
        if le[edge] >= rank:
            if edge == float("inf"):
                return lo_edge
            span = le[edge] - lo_count
            return lo_edge + (edge - lo_edge) * ((rank - lo_count) / span if span else 1.0)
        lo_edge, lo_count = edge, le[edge]
    return lo_edge


def split(before: Buckets, after: Buckets) -> dict[str, Any]:
    """The histograms' growth over a phase: per process, series and topic, count, mean, p50 and p99 in ms."""
    out: dict[str, Any] = {}
    for key, now in sorted(after.items()):
        then = before.get(key, {"le": {}, "sum": 0.0, "count": 0.0})
        count = now.get("count", 0.0) - then.get("count", 0.0)
        if count <= 0:
            continue
        le = {edge: n - then["le"].get(edge, 0.0) for edge, n in now["le"].items()}
        process, series, topic = key
        p50, p99 = _quantile(le, 0.5), _quantile(le, 0.99)
        out[f"{process} {series.removeprefix('frontline_')} {topic}"] = {
            "count": int(count), "mean_ms": round((now.get("sum", 0.0) - then.get("sum", 0.0)) / count * 1000, 2),
            "p50_ms": round(p50 * 1000, 1) if p50 is not None else None,
            "p99_ms": round(p99 * 1000, 1) if p99 is not None else None}
    return out
