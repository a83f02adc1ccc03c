"""Commands to the ticket ledger and the events it records (``tickets.commands`` / ``tickets.events``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictFloat, StrictInt, StrictStr, StringConstraints, model_validator

from shared.contracts.envelope import Message, message
from shared.contracts.language import Language, detect_language
from shared.contracts.schemas.common import (
    MAX_TEXT,
    Attachment,
    Channel,
    Classification,
    ClientRef,
    InboundContent,
    RequestedLine,
    Sender,
    Strict,
    TicketStatus,
    TicketType,
)
from shared.contracts.schemas.feedback import SurveyAnswer

AssignMode = Literal["claim", "auto", "lead", "night_shift", "team_lead", "reassign"]
# Files one reply or note carries (each stored once, named here by its id, as a client message's are).
MAX_ATTACHMENTS = 20
# What intake did not take on trust in a message; each becomes a flag agents see on the ticket.
ReviewFlag = Literal["unverified_thread", "lookalike_sender"]


class OpeningFields(Message):
    """What a ticket is opened with; shared by OpenTicket and ReceiveMessage."""

    channel: Channel
    subject: str | None = Field(None, max_length=1000)
    sender: Sender = Field(default_factory=Sender)
    client: ClientRef | None = None
    classification: Classification | None = None
    ticket_type: TicketType = TicketType.request
    urgency: str = Field("normal", description="From the urgency directory, e.g. urgent / normal")
    priority: str = "normal"
    requested_line: RequestedLine | None = None
    line: str | None = None
    group_id: str | None = None
    parent_id: str | None = None
    deadline: datetime | None = None
    created_by: str | None = Field(None, description="Agent who opened it on the client's behalf")


# ---- commands ---------------------------------------------------------------------------------


@message("OpenTicket", kind="command")
class OpenTicket(OpeningFields):
    text: str = Field("", max_length=MAX_TEXT)


class ReviewNote(Strict):
    """A claim in the message intake could not verify: a ticket it cites, an address imitating a contact."""

    flag: ReviewFlag
    reason: str = Field(max_length=1000)


@message("ReceiveMessage", kind="command")
class ReceiveMessage(OpeningFields):
    """A client message: opens the ticket if it does not exist yet, else appends (no open/append race)."""

    content: InboundContent
    review: list[ReviewNote] = Field(default_factory=list, max_length=5,
                                     description="Unverified claims; the ledger records each as a flag")
    new_ticket: bool = Field(False, description="Intake chose a new ticket for it: the ledger inserts the ticket "
                                                "without reading first; an existing ticket refuses the insert and "
                                                "the command is then handled as any other (a hint, never trusted)")


@message("OfferTicket", kind="command")
class OfferTicket(Message):
    agent_ids: list[str]
    line: str
    group_id: str | None = None
    service_team_id: str | None = None
    reason: str = "new"
    handovers_seen: int | None = Field(
        default=None, ge=0, description="Escalations the router had seen when it decided: an offer decided before a "
                                        "later escalation is refused, not let move the ticket back; None: unknown")


@message("ClaimTicket", kind="command")
class ClaimTicket(Message):
    agent_id: str


@message("AssignTicket", kind="command")
class AssignTicket(Message):
    agent_id: str
    mode: AssignMode = "auto"
    reason: str | None = None


@message("StartWork", kind="command")
class StartWork(Message):
    agent_id: str


@message("ReplyToClient", kind="command")
class ReplyToClient(Message):
    agent_id: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                          description="Files sent with it (absent on older records)")


@message("AddNote", kind="command")
class AddNote(Message):
    author_id: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                          description="Internal files, never the client's (absent on older records)")


@message("PutOnHold", kind="command")
class PutOnHold(Message):
    reason: str | None = None


@message("ResumeWork", kind="command")
class ResumeWork(Message):
    reason: str | None = None


@message("ClassifyTicket", kind="command")
class ClassifyTicket(Message):
    classification: Classification
    ticket_type: TicketType | None = None
    urgency: str | None = None
    priority: str | None = None


@message("EscalateLine", kind="command")
class EscalateLine(Message):
    to_line: str
    handed_by: str
    reason: str | None = None
    group_id: str | None = None


@message("OpenSubTicket", kind="command")
class OpenSubTicket(Message):
    child_id: str
    opened_by: str
    summary: str = Field(min_length=1, max_length=MAX_TEXT)
    line: str = "development"
    group_id: str | None = None


@message("UpdateChildStatus", kind="command")
class UpdateChildStatus(Message):
    child_id: str
    status: str


@message("SetFlag", kind="command")
class SetFlag(Message):
    flag: str
    value: bool = True
    reason: str | None = None


@message("AddParticipant", kind="command")
class AddParticipant(Message):
    user_id: str
    role: str
    reason: str | None = None


@message("ResolveTicket", kind="command")
class ResolveTicket(Message):
    agent_id: str
    problem: str = Field("", max_length=MAX_TEXT, description="The problem in the client's words")
    solution: str = Field("", max_length=MAX_TEXT, description="What was done to solve it")


@message("CompleteTicket", kind="command")
class CompleteTicket(Message):
    reason: Literal["rated", "no_rating_timeout", "manual", "internal"] = Field(
        "manual", description="internal: a development sub-ticket, which has no client to rate it")


@message("CloseTicket", kind="command")
class CloseTicket(Message):
    reason: str | None = None


@message("ReopenTicket", kind="command")
class ReopenTicket(Message):
    reason: str | None = None


@message("LinkClient", kind="command")
class LinkClient(Message):
    client: ClientRef
    linked_by: str
    reason: str | None = Field(None, max_length=1000, description="Required to re-link an identified ticket")


@message("RecordRating", kind="command")
class RecordRating(SurveyAnswer):
    comment: str | None = Field(None, max_length=5000)


@message("LogCallback", kind="command")
class LogCallback(Message):
    agent_id: str
    answered: bool
    comment: str | None = Field(None, max_length=5000)
    phone: str | None = None


@message("SetDeadline", kind="command")
class SetDeadline(Message):
    deadline: datetime | None


@message("RecordNotification", kind="command")
class RecordNotification(Message):
    notification_id: str
    recipient: str
    channel: str
    outcome: Literal["sent", "failed"]
    detail: str | None = None


# ---- events -----------------------------------------------------------------------------------


class StatusChange(Message):
    """An event that moves the ticket's status. The ledger records the status after it, so followers read it
    instead of deriving it again; for a record written before it did, ``ticket_rules.status_after`` decides."""

    AFTER: ClassVar[tuple[TicketStatus, ...]] = ()  # the statuses this event may leave; one: filled in when absent
    status_after: TicketStatus | None = Field(None, description="The ticket's status after this event, recorded "
                                              "by the ledger (absent on records written before it did)")

    @model_validator(mode="after")
    def _check_status_after(self) -> StatusChange:
        if self.status_after is None and len(self.AFTER) == 1:
            self.status_after = self.AFTER[0]
        elif self.status_after is not None and self.status_after not in self.AFTER:
            raise ValueError(f"{self.TYPE} cannot leave a ticket {self.status_after.value}")
        return self


@message("TicketOpened")
class TicketOpened(OpeningFields):
    number: int
    text: str = Field("", max_length=MAX_TEXT)
    unidentified: bool = False
    language: Language | None = Field(None, description="The client's language for every notice and page on this "
                                      "ticket, decided once from the opening message; None: nothing to go on")

    @model_validator(mode="after")
    def _decide_language(self) -> TicketOpened:
        """The ledger records the decision when it makes the event; an older record gets the same one on reading."""
        if self.language is None:
            self.language = detect_language(f"{self.subject or ''} {self.text}")
        return self


@message("MessageReceived")
class MessageReceived(Message):
    content: InboundContent
    reopened: bool = False


@message("TicketOffered")
class TicketOffered(StatusChange):
    AFTER = (TicketStatus.offered,)
    agent_ids: list[str]
    line: str
    group_id: str | None = None
    service_team_id: str | None = None
    round: int = 1
    reason: str = "new"


@message("TicketAssigned")
class TicketAssigned(StatusChange):
    AFTER = (TicketStatus.assigned,)
    agent_id: str
    mode: AssignMode
    previous_agent_id: str | None = None
    reason: str | None = None


@message("WorkStarted")
class WorkStarted(StatusChange):
    AFTER = (TicketStatus.in_progress,)
    agent_id: str


@message("ReplySent")
class ReplySent(Message):
    agent_id: str
    text: str
    channel: Channel
    first_response: bool = False
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                          description="Files sent with it (absent on older records)")


@message("NoteAdded")
class NoteAdded(Message):
    author_id: str
    text: str
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS,
                                          description="Internal files, never the client's (absent on older records)")


@message("TicketPutOnHold")
class TicketPutOnHold(StatusChange):
    AFTER = (TicketStatus.waiting_customer,)
    reason: str | None = None


@message("TicketResumed")
class TicketResumed(StatusChange):
    AFTER = (TicketStatus.in_progress,)
    reason: str | None = None


@message("TicketClassified")
class TicketClassified(Message):
    classification: Classification
    ticket_type: TicketType
    urgency: str
    priority: str


@message("TicketEscalated")
class TicketEscalated(StatusChange):
    AFTER = (TicketStatus.new,)
    from_line: str | None
    to_line: str
    handed_by: str
    previous_agent_id: str | None = None
    group_id: str | None = None
    reason: str | None = None


@message("SubTicketOpened")
class SubTicketOpened(Message):
    child_id: str
    opened_by: str
    summary: str
    line: str
    group_id: str | None = Field(None, description="Group the child is offered to (absent on older records)")


@message("ChildStatusUpdated")
class ChildStatusUpdated(Message):
    child_id: str
    status: str


@message("FlagChanged")
class FlagChanged(Message):
    flag: str
    value: bool
    reason: str | None = None


@message("ParticipantAdded")
class ParticipantAdded(Message):
    user_id: str
    role: str
    reason: str | None = None


@message("TicketResolved")
class TicketResolved(StatusChange):
    AFTER = (TicketStatus.resolved,)
    agent_id: str
    problem: str
    solution: str
    channel: Channel
    sender: Sender
    client: ClientRef | None = None


@message("TicketCompleted")
class TicketCompleted(StatusChange):
    AFTER = (TicketStatus.completed,)
    reason: str


@message("TicketClosed")
class TicketClosed(StatusChange):
    AFTER = (TicketStatus.closed,)
    reason: str | None = None
    open_sub_tickets: list[str] = Field(default_factory=list,
                                        description="Development sub-tickets still open when it closed (the reason "
                                                    "says why)")


@message("TicketReopened")
class TicketReopened(StatusChange):
    AFTER = (TicketStatus.in_progress, TicketStatus.new)  # ticket_rules.reopened_status
    reason: str | None = None
    from_status: str


@message("ClientLinked")
class ClientLinked(Message):
    client: ClientRef
    sender: Sender
    linked_by: str
    reason: str | None = None
    previous_client_id: str | None = Field(None, description="Set when an identified ticket was re-linked")


@message("RatingRecorded")
class RatingRecorded(SurveyAnswer):
    agent_id: str | None = Field(None, description="Who resolved the ticket")
    created_by: str | None = Field(None, description="Who opened the ticket (fraud checks)")


@message("CallbackLogged")
class CallbackLogged(Message):
    agent_id: str
    answered: bool
    comment: str | None = None
    phone: str | None = None


@message("DeadlineSet")
class DeadlineSet(Message):
    deadline: datetime | None


@message("NotificationRecorded")
class NotificationRecorded(Message):
    notification_id: str
    recipient: str
    channel: str
    outcome: str
    detail: str | None = None


@message("CommandRejected")
class CommandRejected(Message):
    command_id: str
    command_type: str
    reason: str
    code: str = "rejected"


# ---- tags and custom fields (issue 22) ----------------------------------------------------------

# A tag: letters or digits first, then letters, digits and - _ . : / # +; stored lower-case. No markup, spaces
# or control characters ever reach a ticket, so a tag is safe as text anywhere it is shown.
Tag = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50,
                                       pattern=r"^[^\W_][\w\-.:/#+]*$")]
MAX_TAGS_PER_TICKET = 20
# A custom field's id is a path segment of ``custom_fields.<id>`` in MongoDB queries: no dots, no dollars.
FIELD_ID = r"^[a-z][a-z0-9_]{0,63}$"
FieldId = Annotated[str, StringConstraints(pattern=FIELD_ID)]
FieldValue = StrictStr | StrictInt | StrictFloat | list[Annotated[StrictStr, Field(max_length=200)]] | None
MAX_FIELDS_PER_COMMAND = 50


@message("ChangeTags", kind="command")
class ChangeTags(Message):
    """Add and remove tags; adding a tag the ticket has (or removing one it lacks) changes nothing."""

    add: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)
    remove: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS_PER_TICKET)
    by: str


@message("TagsChanged")
class TagsChanged(Message):
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    by: str


@message("SetCustomFields", kind="command")
class SetCustomFields(Message):
    """Ticket-level custom field values (None clears one); the ledger checks them against the custom-fields
    directory (``shared.directory.custom_fields``) and refuses the whole command, in words, if one does not fit."""

    values: dict[FieldId, FieldValue] = Field(min_length=1, max_length=MAX_FIELDS_PER_COMMAND)
    set_by: str


@message("CustomFieldsSet")
class CustomFieldsSet(Message):
    values: dict[str, FieldValue] = Field(description="As stored (dates YYYY-MM-DD); null: the field was cleared")
    set_by: str


# ---- merge and split (issue 22) -----------------------------------------------------------------

# What one move may carry: the follow-up command holds every moved entry, and a record must fit the broker.
MAX_MOVED_ENTRIES = 200
MAX_MOVED_CHARS = 400_000
MAX_SPLIT_MESSAGES = 50


class MovedReply(Strict):
    """An agent's reply as the source's history recorded it (ReplySent)."""

    event_id: str
    at: datetime
    agent_id: str
    text: str = Field(max_length=MAX_TEXT)
    channel: Channel
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class MovedNote(Strict):
    """An internal note as the source's history recorded it (NoteAdded); the target records it as a NoteAdded."""

    event_id: str
    at: datetime
    author_id: str
    text: str = Field(max_length=MAX_TEXT)
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class MovedParticipant(Strict):
    user_id: str
    role: str


@message("MergeTicket", kind="command")
class MergeTicket(Message):
    """Merge this ticket (the source) into ``target_id``: sent to the source's partition. The ledger reads the target
    to decide, closes the source as merged and sends the moved entries to the target (``TakeOverEntries``)."""

    target_id: str = Field(min_length=1, max_length=200)
    merged_by: str
    reason: str | None = Field(None, max_length=2000)
    cross_client_confirmed_by: str | None = Field(None, description="The lead who confirmed a merge across clients "
                                                  "(required when the two tickets' clients differ)")


@message("SplitTicket", kind="command")
class SplitTicket(Message):
    """The selected client messages of this ticket become a new ticket ``new_ticket_id`` with a link back."""

    new_ticket_id: str = Field(min_length=1, max_length=200)
    message_ids: list[str] = Field(min_length=1, max_length=MAX_SPLIT_MESSAGES)
    subject: str | None = Field(None, max_length=1000)
    split_by: str


@message("TakeOverEntries", kind="command")
class TakeOverEntries(Message):
    """The ledger's own follow-up to the target of a merge or the new ticket of a split: record what moved."""

    kind: Literal["merge", "split"]
    from_ticket_id: str
    from_number: int
    by: str
    reason: str | None = None
    messages: list[InboundContent] = Field(default_factory=list, max_length=MAX_MOVED_ENTRIES)
    replies: list[MovedReply] = Field(default_factory=list, max_length=MAX_MOVED_ENTRIES)
    notes: list[MovedNote] = Field(default_factory=list, max_length=MAX_MOVED_ENTRIES)
    participants: list[MovedParticipant] = Field(default_factory=list, max_length=MAX_MOVED_ENTRIES)


@message("TicketMerged")
class TicketMerged(StatusChange):
    """On the source: closed as merged into ``target_id``; its entries now also live on the target."""

    AFTER = (TicketStatus.closed,)
    target_id: str
    target_number: int
    merged_by: str
    reason: str | None = None
    cross_client_confirmed_by: str | None = None
    moved_event_ids: list[str] = Field(default_factory=list, description="The source's history entries that move "
                                       "(client messages, replies, notes, entries it had absorbed)")
    participants: list[MovedParticipant] = Field(default_factory=list)
    moved_messages: int = 0
    moved_replies: int = 0
    moved_notes: int = 0


@message("TicketSplit")
class TicketSplit(Message):
    """On the original: these client messages became the new ticket ``new_ticket_id``."""

    new_ticket_id: str
    message_ids: list[str]
    subject: str | None = None
    split_by: str


@message("TicketAbsorbed")
class TicketAbsorbed(Message):
    """On the target of a merge (or a split's new ticket): what came from ``from_ticket_id``. The client's messages
    and the agents' replies are here; moved internal notes follow as NoteAdded events of the same command."""

    kind: Literal["merge", "split"]
    from_ticket_id: str
    from_number: int
    by: str
    reason: str | None = None
    messages: list[InboundContent] = Field(default_factory=list)
    replies: list[MovedReply] = Field(default_factory=list)
    participants: list[MovedParticipant] = Field(default_factory=list)


@message("MessageForwarded")
class MessageForwarded(Message):
    """On a merged source: a client message that reached it after the merge, passed on to the target."""

    content: InboundContent
    to_ticket_id: str
