"""Merge and split in the ledger: decide refuses what may not be merged or split, the handler carries the moved
entries to the other ticket as its own follow-up, and neither half moves anything twice or loses it in a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.tickets.domain import LedgerRules, Rejected, decide
from services.tickets.handlers import LedgerHandler
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Attachment, Channel, ClientRef, InboundContent, Sender, TicketStatus
from shared.contracts.ticket import ChildRef, Ticket
from shared.contracts.topics import TICKETS_COMMANDS, TICKETS_EVENTS, TopicSpec
from shared.runtime.clock import ManualClock
from tests.support.fakes import FakeBus
from tests.support.fakes.ledger import FakeLedgerStore

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ACME, OTHER = ClientRef(client_id="acme"), ClientRef(client_id="other")
FILE = Attachment(id="f-1", filename="router.jpg", content_type="image/jpeg", size=10)


def ticket(id: str = "S", number: int = 1, **kw: Any) -> Ticket:
    base: dict[str, Any] = {"id": id, "number": number, "channel": Channel.phone, "status": TicketStatus.in_progress,
                            "client": ACME, "created_at": NOW, "updated_at": NOW, "status_changed_at": NOW}
    return Ticket(**{**base, **kw})


def merge(source: Ticket, target: Ticket | None, **kw: Any) -> list[Message]:
    cmd = t.MergeTicket(target_id=kw.pop("target_id", target.id if target else "X"), merged_by="lead", **kw)
    return decide(source, cmd, NOW, rules=LedgerRules(merge_target=target))


def refused(source: Ticket, target: Ticket | None, **kw: Any) -> str:
    with pytest.raises(Rejected) as caught:
        merge(source, target, **kw)
    return caught.value.code


# ---- decide -------------------------------------------------------------------------------------


def test_a_merge_closes_the_source_as_merged_with_a_link_to_the_target() -> None:
    source = ticket(participants=[{"user_id": "watcher", "role": "lead"}])
    [ev] = merge(source, ticket("T", 2, channel=Channel.email), reason="same outage")
    assert isinstance(ev, t.TicketMerged)
    assert (ev.target_id, ev.target_number, ev.status_after) == ("T", 2, TicketStatus.closed)
    assert [(p.user_id, p.role) for p in ev.participants] == [("watcher", "lead")]


@pytest.mark.parametrize(("source", "target", "code"), [
    (ticket(status=TicketStatus.resolved), ticket("T", 2), "invalid_state"),
    (ticket(status=TicketStatus.closed), ticket("T", 2), "invalid_state"),
    (ticket(), ticket("T", 2, merged_into="U"), "target_merged"),
    (ticket(), ticket("T", 2, status=TicketStatus.closed), "target_finished"),
    (ticket(), ticket("S"), "same_ticket"),
    (ticket(parent_id="T"), ticket("T", 2), "sub_ticket_pair"),
    (ticket(children=[ChildRef(id="T")]), ticket("T", 2, parent_id="S"), "sub_ticket_pair"),
    (ticket(), ticket("T", 2, client=OTHER), "cross_client"),
    (ticket(client=None, unidentified=True), ticket("T", 2), "cross_client"),
    (ticket(merged_into="U"), ticket("T", 2), "already_merged"),
    (ticket(), None, "not_found"),
])
def test_refusals(source: Ticket, target: Ticket | None, code: str) -> None:
    assert refused(source, target) == code


def test_across_clients_only_with_a_leads_confirmation_which_the_event_records() -> None:
    [ev] = merge(ticket(), ticket("T", 2, client=OTHER), cross_client_confirmed_by="lead")
    assert isinstance(ev, t.TicketMerged) and ev.cross_client_confirmed_by == "lead"


def test_merging_again_into_the_same_target_is_a_no_op() -> None:
    assert merge(ticket(merged_into="T", status=TicketStatus.closed), ticket("T", 2)) == []


def content(mid: str, text: str = "hello", files: list[Attachment] | None = None) -> InboundContent:
    return InboundContent(message_id=mid, channel=Channel.email, external_id=f"<{mid}@x>", text=text,
                          sender=Sender(email="anna@acme.example"), received_at=NOW, attachments=files or [],
                          email_message_id=f"<{mid}@x>")


def split(tk: Ticket, history: list[Message], ids: list[str], new: str = "N") -> list[Message]:
    entries = tuple(_entries(history))
    return decide(tk, t.SplitTicket(new_ticket_id=new, message_ids=ids, split_by="ann"), NOW,
                  rules=LedgerRules(history=entries))


def _entries(history: list[Message]) -> list[Any]:
    from services.tickets.moves import Entry
    return [Entry(f"e{i}", NOW, m) for i, m in enumerate(history)]


def test_split_takes_known_client_messages_once() -> None:
    history: list[Message] = [t.MessageReceived(content=content("m1")), t.MessageReceived(content=content("m2")),
                              t.MessageReceived(content=content("m3"))]
    [ev] = split(ticket(), history, ["m3", "m2"])
    assert isinstance(ev, t.TicketSplit) and ev.message_ids == ["m2", "m3"]  # in the ticket's order
    assert ev.subject and "#1" in ev.subject
    with pytest.raises(Rejected) as unknown:
        split(ticket(), history, ["m9"])
    assert unknown.value.code == "unknown_messages"
    with pytest.raises(Rejected) as again:
        split(ticket(), [*history, ev], ["m2"], new="N2")
    assert again.value.code == "already_split"
    with pytest.raises(Rejected) as finished:
        split(ticket(status=TicketStatus.resolved), history, ["m2"])
    assert finished.value.code == "invalid_state"
    assert split(ticket(split_into=["N"]), history, ["m2"]) == []


def test_a_merged_ticket_forwards_a_late_client_message_and_is_never_reopened() -> None:
    merged = ticket(merged_into="T", status=TicketStatus.closed)
    late = t.ReceiveMessage(channel=Channel.email, content=content("m9"))
    [ev] = decide(merged, late, NOW)
    assert isinstance(ev, t.MessageForwarded) and ev.to_ticket_id == "T"
    with pytest.raises(Rejected) as reopen:
        decide(merged, t.ReopenTicket(reason="x"), NOW)
    assert reopen.value.code == "merged"


# ---- the handler: both halves, replays and a crash between them -----------------------------------


class CrashingBus(FakeBus):
    """Fails the first publication to ``tickets.commands``: the ledger crashed after saving, before the follow-up."""

    def __init__(self) -> None:
        super().__init__()
        self.crash = False

    async def publish_many(self, spec: TopicSpec, envs: Any) -> None:
        if self.crash and spec.name == TICKETS_COMMANDS.name:
            self.crash = False
            raise ConnectionError("broker gone")
        await super().publish_many(spec, envs)


Desk = tuple[LedgerHandler, FakeLedgerStore, CrashingBus]


@pytest.fixture
def desk() -> Desk:
    store, bus = FakeLedgerStore(), CrashingBus()

    async def history(ticket_id: str) -> list[dict[str, Any]]:
        return list(store.history.get(ticket_id, []))
    return LedgerHandler(store, bus, ManualClock(NOW), LedgerRules(), history=history), store, bus


async def run(handler: LedgerHandler, msg: Message, ticket_id: str, id: str | None = None) -> Envelope:
    env = envelope_for(msg, ticket_id, occurred_at=NOW, actor="test", id=id)
    await handler((env, msg))
    return env


async def deliver_follow_ups(handler: LedgerHandler, bus: FakeBus, since: int = 0) -> list[Envelope]:
    sent = bus.on(TICKETS_COMMANDS)[since:]
    for env in sent:
        await handler((env, env.message()))
    return sent


async def two_tickets(handler: LedgerHandler) -> None:
    await run(handler, t.ReceiveMessage(channel=Channel.phone, client=ACME, content=content("p1", "call", [FILE])),
              "S")
    await run(handler, t.AddNote(author_id="ann", text="internal", attachments=[FILE]), "S")
    await run(handler, t.AddParticipant(user_id="watcher", role="lead"), "S")
    await run(handler, t.ReceiveMessage(channel=Channel.email, client=ACME, content=content("e1", "mail")), "T")


async def test_a_crash_between_the_halves_neither_loses_nor_duplicates_the_move(desk: Desk) -> None:
    handler, store, bus = desk
    await two_tickets(handler)
    bus.crash = True
    merge_cmd = t.MergeTicket(target_id="T", merged_by="lead", reason="duplicate")
    with pytest.raises(ConnectionError):
        await run(handler, merge_cmd, "S", id="merge-1")
    assert store.tickets["S"].merged_into == "T" and bus.on(TICKETS_COMMANDS) == []  # saved, follow-up lost
    await run(handler, merge_cmd, "S", id="merge-1")  # the consumer redelivers the uncommitted command
    await run(handler, merge_cmd, "S", id="merge-1")  # and once more
    sent = await deliver_follow_ups(handler, bus)
    assert [e.type for e in sent] == ["TakeOverEntries", "TakeOverEntries"] and sent[0].id == sent[1].id
    target = store.tickets["T"]
    assert target.merged_from == ["S"] and target.message_count == 2
    assert ("watcher", "lead") in {(p.user_id, p.role) for p in target.participants}
    absorbed = [h for h in store.history["T"] if h["type"] == "TicketAbsorbed"]
    notes = [h for h in store.history["T"] if h["type"] == "NoteAdded"]
    assert len(absorbed) == 1 and len(notes) == 1
    assert absorbed[0]["payload"]["messages"][0]["attachments"][0]["id"] == "f-1"
    assert notes[0]["payload"]["attachments"][0]["id"] == "f-1"
    # A second TakeOverEntries for the same source under another command id (a replayed dead letter) adds nothing.
    again = t.TakeOverEntries.model_validate(sent[0].payload)
    await run(handler, again, "T", id="other-id")
    assert len([h for h in store.history["T"] if h["type"] == "TicketAbsorbed"]) == 1
    assert store.tickets["S"].status == TicketStatus.closed


async def test_a_client_message_to_the_merged_ticket_lands_on_the_target(desk: Desk) -> None:
    handler, store, bus = desk
    await two_tickets(handler)
    await run(handler, t.MergeTicket(target_id="T", merged_by="lead"), "S")
    await deliver_follow_ups(handler, bus)
    seen = len(bus.on(TICKETS_COMMANDS))
    await run(handler, t.ReceiveMessage(channel=Channel.email, content=content("late")), "S")
    await deliver_follow_ups(handler, bus, seen)
    assert store.tickets["S"].status == TicketStatus.closed and store.tickets["S"].reopened_count == 0
    assert store.tickets["T"].message_count == 3 and "email:<late@x>" in store.tickets["T"].external_ids


async def test_split_opens_a_new_ticket_of_the_same_client_with_the_messages_and_links_both_ways(desk: Desk) -> None:
    handler, store, bus = desk
    for mid in ("m1", "m2", "m3"):
        await run(handler, t.ReceiveMessage(channel=Channel.email, client=ACME, line="first",
                                            content=content(mid, f"text {mid}")), "O")
    await run(handler, t.SplitTicket(new_ticket_id="N", message_ids=["m2", "m3"], subject="Billing",
                                     split_by="ann"), "O", id="split-1")
    await run(handler, t.SplitTicket(new_ticket_id="N", message_ids=["m2", "m3"], subject="Billing",
                                     split_by="ann"), "O", id="split-1")
    sent = await deliver_follow_ups(handler, bus)
    assert [e.type for e in sent] == ["OpenTicket", "TakeOverEntries"] * 2
    new, original = store.tickets["N"], store.tickets["O"]
    assert (new.client, new.line, new.subject, new.split_from) == (ACME, "first", "Billing", "O")
    assert original.split_into == ["N"] and new.message_count == 2
    absorbed = [h for h in store.history["N"] if h["type"] == "TicketAbsorbed"]
    assert [m["message_id"] for m in absorbed[0]["payload"]["messages"]] == ["m2", "m3"]
    assert [h["type"] for h in store.history["O"]][-1] == "TicketSplit"
    assert "TicketSplit" in bus.types(TICKETS_EVENTS) and "TicketAbsorbed" in bus.types(TICKETS_EVENTS)
