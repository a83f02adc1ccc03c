"""The client hears once, in his language, that his request was merged into another (issue 22, merge)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.notify.domain import PlanInput, plan
from services.notify.projection import apply
from services.notify.template_context import CONTEXT, SAMPLES
from services.notify.templates import render
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, Sender
from shared.directory.routing import Staff

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OPENED = t.TicketOpened(channel=Channel.email, number=7, subject="No connection", text="The line is down",
                        sender=Sender(email="anna@c.test", name="Anna"), client=ClientRef(client_id="c1"))


def env(msg: Message, eid: str, ticket_id: str = "T") -> Envelope:
    return envelope_for(msg, ticket_id, occurred_at=NOW, id=eid)


def planned(msg: Message, eid: str, ticket_id: str = "T") -> list[str]:
    view = apply(None, env(OPENED, "o1", ticket_id), OPENED)
    return [f"{i.template}:{i.recipient}:{i.channel}:{i.context.get('merged_number')}"
            for i in plan(PlanInput(env=env(msg, eid, ticket_id), msg=msg, view=view, staff=Staff(), now=NOW))]


def test_only_the_targets_absorption_of_a_merge_tells_the_client_once() -> None:
    absorbed = t.TicketAbsorbed(kind="merge", from_ticket_id="S", from_number=3, by="lead")
    assert planned(absorbed, "a1") == ["ticket_merged:client:c1:email:3"]
    assert planned(absorbed, "a1") == planned(absorbed, "a1")  # the same key on a replay: one delivery
    merged = t.TicketMerged(target_id="T", target_number=7, merged_by="lead")
    assert planned(merged, "m1", "S") == []  # the source says nothing: one notice, on the target
    assert planned(t.TicketAbsorbed(kind="split", from_ticket_id="S", from_number=3, by="ann"), "a2") == []


def test_the_notice_ships_in_russian_and_english() -> None:
    assert "merged_number" in CONTEXT["ticket_merged"]
    for lang, words in (("en", "merged"), ("ru", "объединили")):
        out = render("ticket_merged", lang, {**SAMPLES["ticket_merged"], "number": 7, "merged_number": 3})
        assert "#7" in out.subject and "3" in out.text and words in out.text.lower()
