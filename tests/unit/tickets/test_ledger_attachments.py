"""Files on replies and notes: the ledger records what the command carries, an older record without them still
reads, and the rebuilt ticket is the same either way."""

from __future__ import annotations

from datetime import UTC, datetime

from services.tickets.domain import decide
from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import Attachment, Channel, TicketStatus
from shared.contracts.ticket import Ticket, evolve

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FILE = Attachment(id="f1", filename="invoice.pdf", content_type="application/pdf", size=120)


def working() -> Ticket:
    return Ticket(id="T1", number=1, channel=Channel.email, status=TicketStatus.in_progress, assignee_id="ann",
                  created_at=NOW, updated_at=NOW, status_changed_at=NOW, first_response_at=NOW)


def test_a_reply_and_a_note_record_the_files_their_commands_carry() -> None:
    [reply] = decide(working(), t.ReplyToClient(agent_id="ann", text="attached", attachments=[FILE]), NOW)
    [note] = decide(working(), t.AddNote(author_id="ann", text="internal", attachments=[FILE]), NOW)
    assert isinstance(reply, t.ReplySent) and reply.attachments == [FILE]
    assert isinstance(note, t.NoteAdded) and note.attachments == [FILE]
    assert envelope_for(reply, "T1", occurred_at=NOW).payload["attachments"] == [FILE.model_dump(mode="json")]


def test_a_record_written_before_files_existed_still_reads_and_applies() -> None:
    old = Envelope(type="ReplySent", ticket_id="T1", occurred_at=NOW,
                   payload={"agent_id": "ann", "text": "hi", "channel": "email"})
    message = old.message()
    assert isinstance(message, t.ReplySent) and message.attachments == []
    after = evolve(working(), old, message)
    assert after.last_message_from == "agent" and after.message_count == 1
