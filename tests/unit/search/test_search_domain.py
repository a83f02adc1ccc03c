"""The search document a ticket's events build (pure): texts by kind, notes apart, duplicates skipped, scope fields."""

from __future__ import annotations

from datetime import UTC, datetime

from services.search.domain import NONE, People, apply, fold, index_doc
from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Channel, ClientRef, InboundContent, Sender

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
CLIENT = ClientRef(client_id="C-42", client_name="Вектор", contract_number="ДГ-1", service_team_id="A",
                   contact_id="P-1")


def ev(msg: Message, ticket: str = "T-1") -> tuple[Envelope, Message]:
    return envelope_for(msg, ticket, occurred_at=NOW), msg


def opened() -> tuple[Envelope, Message]:
    return ev(t.TicketOpened(number=1234, channel=Channel.email, subject="Нет связи", text="Пропало подключение",
                             client=CLIENT, sender=Sender(name="Анна", email="Anna@Vector.example",
                                                          phone="+74951234567")))


def test_texts_are_kept_by_kind_and_notes_stay_apart() -> None:
    state = apply(None, *opened())
    content = InboundContent(message_id="m2", channel=Channel.email, external_id="<m2@x>", subject="Re: Нет связи",
                             text="Всё ещё нет", sender=Sender(), received_at=NOW)
    for e in (ev(t.MessageReceived(content=content)),
              ev(t.ReplySent(text="Проверяем", agent_id="ann", channel=Channel.email)),
              ev(t.NoteAdded(text="секрет", author_id="ann"))):
        state = apply(state, *e)
    assert state is not None
    assert state.messages == ["Пропало подключение", "Re: Нет связи", "Всё ещё нет"]
    assert state.replies == ["Проверяем"] and state.notes == ["секрет"]
    doc = index_doc(state, People(names=["Анна Петрова"], emails=["a.p@vector.example"], phones=["+7 495 000"]))
    assert "секрет" not in doc.text and "секрет" not in doc.people and doc.notes == "секрет"
    assert {"1234", "anna@vector.example", "a.p@vector.example", "74951234567", "+74951234567", "7495000",
            "дг-1"} <= set(doc.ids)
    assert (doc.client_id, doc.service_team_id, doc.status, doc.group_id) == ("C-42", "A", "new", NONE)
    assert "Анна Петрова" in doc.people and "Вектор" in doc.people


def test_a_redelivered_event_changes_nothing_and_a_rejection_is_ignored() -> None:
    first = opened()
    state = apply(None, *first)
    note = ev(t.NoteAdded(text="один раз", author_id="ann"))
    state = apply(state, *note)
    assert state is not None and apply(state, *note) is None and apply(state, *first) is None
    assert apply(state, *ev(t.CommandRejected(command_id="c", command_type="ClaimTicket", reason="no"))) is None
    assert state.notes == ["один раз"] and state.version == 2


def test_fold_rebuilds_the_same_state_from_the_ledgers_history() -> None:
    events = [opened(), ev(t.ReplySent(text="ответ", agent_id="ann", channel=Channel.email)),
              ev(t.TagsChanged(added=["vip"], removed=[], by="ann"))]
    live = None
    for e in events:
        live = apply(live, *e) or live
    rebuilt = fold(e.model_dump(mode="json") for e, _ in events)
    assert rebuilt == live and rebuilt is not None
    assert index_doc(rebuilt, People()).tags == ["vip"]


def test_a_merged_tickets_messages_and_replies_are_found_on_the_target() -> None:
    content = InboundContent(message_id="m9", channel=Channel.phone, external_id="call-9", text="Звонил про роутер",
                             sender=Sender(), received_at=NOW)
    reply = t.MovedReply(event_id="e9", at=NOW, agent_id="ann", text="Перезагрузите роутер", channel=Channel.phone)
    absorbed = t.TicketAbsorbed(kind="merge", from_ticket_id="T-2", from_number=77, by="lead", messages=[content],
                                replies=[reply])
    state = apply(apply(None, *opened()), *ev(absorbed))
    assert state is not None
    assert "Звонил про роутер" in state.messages and state.replies == ["Перезагрузите роутер"]
    assert "Звонил про роутер" in index_doc(state, People()).text


def test_the_opening_message_is_indexed_once() -> None:
    content = InboundContent(message_id="m1", channel=Channel.email, external_id="<m1@x>", text="Пропало подключение",
                             sender=Sender(), received_at=NOW)
    state = apply(apply(None, *opened()), *ev(t.MessageReceived(content=content)))
    assert state is not None and state.messages == ["Пропало подключение"]
