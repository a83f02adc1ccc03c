"""A delivery's outcome told to the rest of the desk: ``NotificationSent``/``NotificationFailed`` on notify.events
and the ledger's ``RecordNotification``, with ids derived from the notification id, so republishing repeats nothing;
a failed one is also parked on the dead-letter topic and its author told. A delivery is marked published only after
the broker acknowledged them, so a crash republishes rather than loses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from shared.contracts.collections import NOTIFY_DELIVERIES
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import notify, tickets
from shared.contracts.topics import NOTIFY_EVENTS, TICKETS_COMMANDS
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id
from shared.runtime.kafka import KafkaBus, Poison

from .store import NotifyStore

log = logging.getLogger(__name__)


def outcome_envelopes(d: Mapping[str, Any], occurred_at: Any) -> tuple[Envelope, Envelope]:
    """The notify event and the ledger command for a delivery's outcome; ids stable across republishing."""
    nid = d["_id"]
    common = dict(notification_id=nid, event_id=d["event_id"], recipient=d["recipient"], channel=d["channel"],
                  template=d["template"])
    event: notify.NotificationSent | notify.NotificationFailed
    if d["status"] == "sent":
        event = notify.NotificationSent(**common)
        record = tickets.RecordNotification(notification_id=nid, recipient=d["recipient"], channel=d["channel"],
                                            outcome="sent")
    else:
        reason = str(d.get("last_error") or "failed")
        event = notify.NotificationFailed(**common, reason=reason, permanent=bool(d.get("permanent")),
                                          attempts=int(d.get("attempts") or 0))
        record = tickets.RecordNotification(notification_id=nid, recipient=d["recipient"], channel=d["channel"],
                                            outcome="failed", detail=reason[:1000])
    ev = envelope_for(event, d["ticket_id"], occurred_at=occurred_at, id=derived_id(nid, "outcome", d["status"]),
                      correlation_id=d["event_id"], actor="notify")
    cmd = envelope_for(record, d["ticket_id"], occurred_at=occurred_at, id=derived_id(nid, "record", d["status"]),
                       correlation_id=d["event_id"], actor="notify")
    return ev, cmd


class Outcomes:
    """The dispatcher's publishing of outcomes (a part of it: ``Dispatcher.__init__`` sets the state used here)."""

    store: NotifyStore
    bus: KafkaBus
    clock: Clock
    _outbox: asyncio.Queue[dict[str, Any]]
    published: int
    on_failure: Callable[[dict[str, Any]], Awaitable[None]] | None

    async def publish_outcomes(self, docs: list[dict[str, Any]]) -> None:
        """Publish outcomes in one batch per topic, then mark them published (the sweeper redoes lost ones)."""
        pairs = [outcome_envelopes(d, self.clock.now()) for d in docs]
        await self.bus.publish_many(NOTIFY_EVENTS, [ev for ev, _ in pairs])
        await self.bus.publish_many(TICKETS_COMMANDS, [cmd for _, cmd in pairs])
        for d, (ev, _) in zip(docs, pairs, strict=True):
            if d["status"] == "failed":
                await self.dead_letter(d, ev)
                await self.report(d)
        self.store.published_later([d["_id"] for d in docs])
        self.published += len(docs)

    async def _publisher(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 500:
                batch.append(self._outbox.get_nowait())
            try:
                await self.publish_outcomes(batch)
            except asyncio.CancelledError:
                raise
            except Exception:  # left unpublished in MongoDB: the sweeper publishes them later
                log.exception("publishing outcomes failed")

    async def report(self, d: dict[str, Any]) -> None:
        """Tell the author; a notice that cannot be rendered must not hold up the outcomes behind it."""
        if self.on_failure is None:
            return
        try:
            await self.on_failure(d)
        except Poison as exc:
            log.error("failure notice cannot be rendered", extra={"notification_id": d["_id"], "error": str(exc)})

    async def dead_letter(self, d: Mapping[str, Any], ev: Envelope) -> None:
        """A failed delivery is parked on ``notify.events.dlq`` with its reason, for operators and replay."""
        headers = [("type", ev.type.encode()), ("x-dlq-reason", str(d.get("last_error") or "")[:4000].encode()),
                   ("x-dlq-source-topic", NOTIFY_DELIVERIES.encode()), ("x-notification-id", d["_id"].encode()),
                   ("x-dlq-permanent", str(bool(d.get("permanent"))).lower().encode()),
                   ("x-dlq-failed-at", self.clock.now().isoformat().encode())]
        await self.bus.publish_raw(self.bus.topic(NOTIFY_EVENTS.dead_letter), d["ticket_id"].encode(),
                                   ev.to_bytes(), headers)
