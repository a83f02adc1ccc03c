"""Which producer may send which command to the ledger: the one declaration the ledger enforces.

The ledger dead-letters a command whose signed producer (``shared.runtime.command_auth``) does not own its type, so a
service holding another's Kafka credentials still cannot act outside its own job. The topic table, the Kafka
ACLs and the AsyncAPI document take the producers of ``tickets.commands`` from here. A service that starts
sending a new command type declares it here, or the ledger refuses it.
"""

from __future__ import annotations

COMMANDS_BY_PRODUCER: dict[str, frozenset[str]] = {
    # Client messages from every channel open or continue a ticket; a file it quarantined, flagged on its ticket.
    "intake": frozenset({"ReceiveMessage", "SetFlag"}),
    # Offers and automatic assignment; flags such as "nobody available".
    "routing": frozenset({"OfferTicket", "AssignTicket", "SetFlag"}),
    # Breach flags and the participants an escalation step adds.
    "sla": frozenset({"SetFlag", "AddParticipant"}),
    # The ticket's record of each notification's outcome.
    "notify": frozenset({"RecordNotification"}),
    # Ratings, the client's comment as a note, and completion after the survey.
    "feedback": frozenset({"RecordRating", "AddNote", "CompleteTicket"}),
    # People's actions through the API (agents, leads, clients writing on the portal); a quarantined upload's flag.
    "gateway": frozenset({
        "ReceiveMessage", "ClaimTicket", "AssignTicket", "StartWork", "ReplyToClient", "AddNote", "PutOnHold",
        "ResumeWork", "ClassifyTicket", "EscalateLine", "OpenSubTicket", "ResolveTicket", "CloseTicket",
        "ReopenTicket", "LinkClient", "LogCallback", "SetFlag",
        # Tags and custom field values agents set (issue 22).
        "ChangeTags", "SetCustomFields",
        # Merging duplicates and splitting messages off (issue 22).
        "MergeTicket", "SplitTicket",
    }),
    # The ledger's own follow-ups: it opens a sub-ticket and reports a child's status to its parent; it carries a
    # merge's or split's entries to the other ticket and passes a merged ticket's client message on to its target.
    "tickets": frozenset({"OpenTicket", "UpdateChildStatus", "TakeOverEntries", "ReceiveMessage"}),
}

COMMAND_PRODUCERS: tuple[str, ...] = tuple(COMMANDS_BY_PRODUCER)


def owners(command_type: str) -> tuple[str, ...]:
    """Producers that may send ``command_type``, in declaration order (empty: nobody may)."""
    return tuple(p for p, types in COMMANDS_BY_PRODUCER.items() if command_type in types)


def may_send(producer: str, command_type: str) -> bool:
    return command_type in COMMANDS_BY_PRODUCER.get(producer, frozenset())
