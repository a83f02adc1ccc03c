"""Kafka → plan → durable deliveries. Handlers never send: they only enqueue, so fan-out never blocks a consumer.

Redelivery is harmless: the projection converges, and deliveries and inbox items are
inserted only if their notification id (event + recipient + channel) is new. Each delivery carries its
cause's position (``ordering.py``), so one person's notices about a ticket go out in event order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas import tickets
from shared.directory.notify import NotifyPreference, TemplateOverride, template_key
from shared.directory.routing import Staff
from shared.runtime.clock import Clock
from shared.runtime.kafka import Poison
from shared.runtime.logging import ticket_id_var

from .attachments import file_lines, with_file_lines
from .domain import Intent, PlanInput, plan
from .failures import failure_notice
from .ordering import after_resolution, follow_up, resolution_queued, ticket_event_seq
from .projection import TicketView, apply
from .settings import NotifySettings
from .templates import Rendered, TemplateRenderError, UnknownTemplate, render

log = logging.getLogger(__name__)

Item = tuple[Envelope, Message]


class NotifyStorage(Protocol):
    """Notify's view of each ticket and its queues (``memory.ViewMemory`` over ``store.NotifyStore``); ``opening``:
    the event read for is the ticket's ``TicketOpened``, so its view may be taken not to exist yet."""

    async def view(self, ticket_id: str, opening: bool = False) -> TicketView | None: ...

    async def save_view(self, view: TicketView) -> None: ...

    async def save_views(self, views: Sequence[TicketView]) -> None: ...

    async def add_deliveries(self, docs: Sequence[dict[str, Any]]) -> int: ...

    async def add_inbox(self, docs: Sequence[dict[str, Any]]) -> None: ...

    async def release_held(self, ticket_id: str, cause_id: str, seq: int | None) -> int: ...


class Directories(Protocol):
    """Staff, preferences and template overrides as last read (``store.DirectoryCache``)."""

    templates: dict[str, TemplateOverride]

    async def snapshot(self) -> tuple[Staff, dict[str, NotifyPreference]]: ...


class Waker(Protocol):
    """The dispatcher, told that deliveries joined its queues."""

    def wake(self, channels: set[str] | None = None) -> None: ...


class NotifyHandler:
    def __init__(self, store: NotifyStorage, directories: Directories, dispatcher: Waker | None, clock: Clock,
                 settings: NotifySettings) -> None:
        self.store, self.directories, self.dispatcher = store, directories, dispatcher
        self.clock, self.s = clock, settings
        self.planned = 0

    async def on_ticket_event(self, item: Item) -> None:
        """tickets.events: fold into the projection first, so the plan (and other topics' events) see it as of now."""
        env, msg = item
        ticket_id_var.set(env.ticket_id)
        view = apply(await self.store.view(env.ticket_id, isinstance(msg, tickets.TicketOpened)), env, msg)
        await self.store.save_view(view)
        await self._plan_and_enqueue(env, msg, view, ticket_event_seq(view))
        if isinstance(msg, tickets.TicketResolved):
            await self._resolution_queued(view, env)

    async def on_ticket_events(self, items: list[Item]) -> None:
        """A partition's fetched tickets.events at once: every view read in one command, folded in order in memory,
        the changed views written in one and every notice queued in one, views first as one by one. A
        resolution closes a stretch: its notices are queued before its place is recorded (its survey may follow)."""
        first: dict[str, Message] = {}
        for env, msg in items:
            first.setdefault(env.ticket_id, msg)
        views = await self._views({t: isinstance(m, tickets.TicketOpened) for t, m in first.items()})
        staff, prefs = await self.directories.snapshot()
        now = self.clock.now()
        changed: set[str] = set()
        inbox: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        for env, msg in items:
            view = views[env.ticket_id] = apply(views.get(env.ticket_id), env, msg)
            changed.add(env.ticket_id)
            intents = plan(PlanInput(env=env, msg=msg, view=view, staff=staff, prefs=prefs, now=now,
                                     default_language=self.s.default_language,
                                     ticket_url=self._ticket_url(env.ticket_id)))
            self._docs(intents, ticket_event_seq(view), None, now, inbox, deliveries)
            if isinstance(msg, tickets.TicketResolved):
                await self._write_views([views[t] for t in sorted(changed)])
                changed.clear()
                await self._write(inbox, deliveries)
                inbox, deliveries = [], []
                views[env.ticket_id] = await self._resolution_queued(view, env)
        await self._write_views([views[t] for t in sorted(changed)])
        await self._write(inbox, deliveries)

    async def _views(self, opening: dict[str, bool]) -> dict[str, TicketView]:
        """Every view asked for together (the store coalesces them into one read; kept ones need none)."""
        found = await asyncio.gather(*(self.store.view(t, opening[t]) for t in sorted(opening)))
        return {v.ticket_id: v for v in found if v is not None}

    async def _write_views(self, views: list[TicketView]) -> None:
        await self.store.save_views(views)

    async def _resolution_queued(self, view: TicketView, env: Envelope) -> TicketView:
        """The resolution's notices are queued: only now, behind them, may its survey go."""
        view = resolution_queued(view, env)
        await self.store.save_view(view)
        seq = after_resolution(view, env.id)
        if seq is not None and await self.store.release_held(env.ticket_id, env.id, seq) and self.dispatcher:
            self.dispatcher.wake()
        return view

    async def on_event(self, item: Item) -> None:
        """routing / sla / feedback events: read the projection, never change it."""
        env, msg = item
        ticket_id_var.set(env.ticket_id)
        view = await self.store.view(env.ticket_id)
        seq, held_for = follow_up(view, env, msg)
        await self._plan_and_enqueue(env, msg, view, seq, held_for)
        if held_for:  # its resolution may have been folded meanwhile, after that fold released what it found
            released = after_resolution(await self.store.view(env.ticket_id), held_for)
            if released is not None and await self.store.release_held(env.ticket_id, held_for, released) \
                    and self.dispatcher:
                self.dispatcher.wake()

    async def _plan_and_enqueue(self, env: Envelope, msg: Message, view: TicketView | None, seq: int | None,
                                held_for: str | None = None) -> None:
        staff, prefs = await self.directories.snapshot()
        url = self._ticket_url(env.ticket_id)
        intents = plan(PlanInput(env=env, msg=msg, view=view, staff=staff, prefs=prefs, now=self.clock.now(),
                                 default_language=self.s.default_language, ticket_url=url))
        if intents:
            await self.enqueue(intents, seq, held_for)

    def _ticket_url(self, ticket_id: str) -> str | None:
        return f"{self.s.console_url.rstrip('/')}/tickets/{ticket_id}" if self.s.console_url else None

    async def report_failure(self, d: dict[str, Any]) -> None:
        """Tell the author of a delivery that failed for good (idempotent: the notice's id derives from it)."""
        staff, prefs = await self.directories.snapshot()
        notice = failure_notice(d, await self.store.view(d["ticket_id"]), staff, prefs, self.s.default_language,
                                self._ticket_url(d["ticket_id"]))
        if notice is not None:
            await self.enqueue([notice])

    async def enqueue(self, intents: list[Intent], seq: int | None = None, held_for: str | None = None) -> None:
        inbox: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        self._docs(intents, seq, held_for, self.clock.now(), inbox, deliveries)
        await self._write(inbox, deliveries)

    def _docs(self, intents: list[Intent], seq: int | None, held_for: str | None, now: Any,
              inbox: list[dict[str, Any]], deliveries: list[dict[str, Any]]) -> None:
        """Render the intents into in-app items and delivery documents (appended to the lists given)."""
        cache: dict[tuple[str, str, str], Rendered] = {}
        for i in intents:
            rendered = self._render(i, cache)
            if i.channel == "in_app":
                inbox.append({"_id": i.notification_id, "user_id": i.address, "ticket_id": i.ticket_id,
                              "event_id": i.event_id, "template": i.template, "language": i.language,
                              "subject": rendered.subject, "text": rendered.text, "reason": i.context.get("reason"),
                              "created_at": now, "read": False})
            else:
                deliveries.append(delivery_doc(i, rendered, now, seq, held_for, self.s.portal_base))

    async def _write(self, inbox: list[dict[str, Any]], deliveries: list[dict[str, Any]]) -> None:
        await self.store.add_inbox(inbox)
        added = await self.store.add_deliveries(deliveries)
        self.planned += added
        # leased ones were handed to the workers; held ones join the queue when released (which wakes it then)
        waiting = {d["channel"] for d in deliveries if d["status"] == "pending"}
        if added and waiting and self.dispatcher is not None:
            self.dispatcher.wake(waiting)

    def _render(self, i: Intent, cache: dict[tuple[str, str, str], Rendered]) -> Rendered:
        key = (i.template, i.language, repr(sorted(i.context.items())))
        if key not in cache:
            override = self.directories.templates.get(template_key(i.template, i.language))
            if override is not None:
                try:
                    cache[key] = render(i.template, i.language, i.context, override)
                    return cache[key]
                except TemplateRenderError as exc:  # an admin's wording must not cost the client the message
                    log.error("template override cannot be rendered; using the shipped template",
                              extra={"template": override.id, "error": str(exc)})
            try:
                cache[key] = render(i.template, i.language, i.context)
            except (UnknownTemplate, TemplateRenderError) as exc:
                raise Poison(str(exc)) from exc
        return cache[key]


def delivery_doc(i: Intent, r: Rendered, now: Any, seq: int | None = None, held_for: str | None = None,
                 portal_url: str | None = None) -> dict[str, Any]:
    """``seq`` orders one person's notices about the ticket; ``held_for``: no seq until that event is folded.
    A reply's files go with an e-mail; any other channel names each with the portal's page of the ticket."""
    hold = {"status": "held", "held_for": held_for} if held_for else {}
    files = [dict(a) for a in i.attachments] if i.channel == "email" else []
    text = r.text if i.channel == "email" else \
        with_file_lines(r.text, i.channel, file_lines(i.attachments, i.ticket_id, portal_url, i.language))
    return {"_id": i.notification_id, "event_id": i.event_id, "ticket_id": i.ticket_id, "recipient": i.recipient,
            "channel": i.channel, "address": i.address, "template": i.template, "language": i.language,
            "audience": i.audience, "automatic": i.automatic, "subject": r.subject, "text": text, "html": r.html,
            "in_reply_to": i.in_reply_to, "references": list(i.references), "status": "pending", "attempts": 0,
            "next_attempt_at": i.not_before or now, "created_at": now, "deferred_until": i.not_before,
            "buttons": [dict(b) for b in i.buttons], "author": i.author, "seq": seq, "attachments": files, **hold}
