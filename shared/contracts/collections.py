"""Every MongoDB collection in one place: its name, the service that owns (writes) it, and who may read it.

Like the topics (``topics.py``): services name a collection only through these constants, and a test
(``tests/deploy/test_import_boundaries.py``) fails when a service touches one not declared for it. A reader
reads a published read model: it never writes it, and relies only on the fields listed here for it.
The admin directories (``dir_*``) are declared by ``shared.directory.register`` with the service whose rules
read them; the gateway writes every one of them through its audited admin API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Collection:
    name: str
    owner: str
    description: str
    readers: tuple[str, ...] = ()  # read-only, through the fields the owner publishes


COLLECTIONS: dict[str, Collection] = {}


def declare(name: str, owner: str, description: str, readers: tuple[str, ...] = ()) -> str:
    """Register a collection and return its name (what ``db[...]`` takes)."""
    if name in {c.name for c in COLLECTIONS.values()}:
        raise RuntimeError(f"collection {name} declared twice")
    COLLECTIONS[name] = Collection(name, owner, description, readers)
    return name


# The ledger's: ticket state and full history (the read model is shared/contracts/ticket.py).
TICKETS = declare("tickets", "tickets", "Ticket state and full event history",
                  readers=("intake", "feedback", "gateway", "search"))
LEDGER_COMMANDS = declare("ledger_commands", "tickets", "Rejections and no-op commands, by command id",
                          readers=("gateway",))
COUNTERS = declare("counters", "tickets", "Ticket numbers")

INTAKE_MESSAGES = declare("intake_messages", "intake", "Inbound messages, deduplicated by channel + external id")
INTAKE_CONVERSATIONS = declare("intake_conversations", "intake", "Conversation → ticket map")
INTAKE_TICKET_KEYS = declare("intake_ticket_keys", "intake", "One open ticket per conversation key")
INTAKE_ATTACHMENTS = declare("intake_attachments", "intake", "GridFS bucket of uploaded attachments",
                             readers=("gateway",))

ROUTING_TICKETS = declare("routing_tickets", "routing", "Routing's view of each ticket")
ROUTING_TIMERS = declare("routing_timers", "routing", "Auto-assignment and retry timers")

SLA_CLOCKS = declare("sla_clocks", "sla", "Per ticket: SLA targets, due times, met/breached, outbox",
                     readers=("gateway",))
SLA_TIMERS = declare("sla_timers", "sla", "Warning, breach and escalation timers")

NOTIFY_TICKETS = declare("notify_tickets", "notify", "Notify's view of each ticket")
NOTIFY_DELIVERIES = declare("notify_deliveries", "notify", "One delivery per event + recipient + channel",
                            readers=("gateway",))
NOTIFY_INBOX = declare("notify_inbox", "notify", "Each person's in-app feed (read through notify's API)")

FEEDBACK_SURVEYS = declare("feedback_surveys", "feedback", "CSAT surveys, answers and fraud alerts",
                           readers=("gateway",))
FEEDBACK_TIMERS = declare("feedback_timers", "feedback", "Survey auto-completion timers")

SEARCH_TICKETS = declare("search_tickets", "search",
                         "Per ticket: what the search index holds (texts, scope fields) and the event ids applied")
SEARCH_META = declare("search_meta", "search", "The search index's watermark: changes older than it are indexed")

KNOWLEDGE_ARTICLES = declare("knowledge_articles", "knowledge",
                              "Articles: current version, workflow status, visibility, counters")
KNOWLEDGE_VERSIONS = declare("knowledge_versions", "knowledge", "Every saved version of an article: who, when, what")
KNOWLEDGE_NEWS = declare("knowledge_news", "knowledge", "News items with their publish window and audience")
KNOWLEDGE_MARKS = declare("knowledge_marks", "knowledge",
                          "One per person and article: views (per day), votes, deflections")
KNOWLEDGE_LINKS = declare("knowledge_links", "knowledge",
                          "Articles inserted into tickets' replies; whether the client wrote again after")
KNOWLEDGE_GAPS = declare("knowledge_gaps", "knowledge", "Searches that found nothing, per normalised query")
KNOWLEDGE_FILES = declare("knowledge_files", "knowledge",
                          "GridFS bucket of articles' images and attachments (served through the gateway)")

GATEWAY_API_KEYS = declare("gateway_api_keys", "gateway", "Hashed API keys of other systems")
TICKET_VIEWS = declare("gateway_ticket_views", "gateway",
                       "Each ticket as the ledger keeps it, without its history: what the queues, counts, boards and "
                       "reports query, with their indexes")
GATEWAY_MACROS = declare("gateway_macros", "gateway", "Macros: reply texts (ru/en) and actions, personal or shared, "
                         "versioned")
GATEWAY_MACRO_USES = declare("gateway_macro_uses", "gateway", "One per macro application: macro, agent, day, "
                             "outcome and the ticket's scope fields (the macros report)")
GATEWAY_ATTACHMENTS = declare("gateway_attachments", "gateway",
                              "GridFS bucket of files people upload through the API (replies, notes, the portal)",
                              readers=("notify",))
GATEWAY_SIGN_IN_LINKS = declare("gateway_sign_in_links", "gateway",
                                "Portal sign-in links: the token's hash, contact, expiry, when used")
GATEWAY_SIGN_IN_REQUESTS = declare("gateway_sign_in_requests", "gateway",
                                   "Recent sign-in link requests (address hash, caller), for the rate limits")
GATEWAY_PORTAL_ACCOUNTS = declare("gateway_portal_accounts", "gateway",
                                  "Portal accounts of invited contacts: client, rights, who invited, when accepted")
GATEWAY_PORTAL_GUIDE = declare("gateway_portal_guide", "gateway", "The portal's onboarding guide (Markdown, ru/en)")
GATEWAY_PORTAL_FEEDBACK = declare("gateway_portal_feedback", "gateway",
                                  "The portal's feedback form entries (the feedback directory)")


# ---- the published field shapes readers rely on -------------------------------------------------------------

# intake_attachments: the gateway serves a file a ticket's history names, by its GridFS id, with these (its filename and
# metadata.content_type; the bytes), only once metadata.scan.status is clean (shared/runtime/file_scan.py).
# gateway_attachments: notify mails a reply's files with these, and metadata.ticket_id must be the reply's ticket.
ATTACHMENT_FIELDS = ("_id", "filename", "length", "metadata.content_type", "metadata.scan.status",
                     "metadata.scan.signature")
UPLOAD_FIELDS = (*ATTACHMENT_FIELDS, "metadata.ticket_id")

# notify_deliveries: the administrators' failed-deliveries list reads these.
DeliveryChannel = Literal["email", "sms", "chat", "in_app"]
DELIVERY_FIELDS = ("ticket_id", "channel", "recipient", "address", "template", "attempts", "permanent", "last_error",
                   "status", "delivery_status", "delivery_error_code", "failed_at", "delivery_reported_at",
                   "created_at")
# feedback_surveys: the portal's survey state and link, the CSAT and fraud reports read these.
SURVEY_FIELDS = ("ticket_id", "ticket_number", "survey_id", "status", "expires_at", "url", "resolved_at", "answer",
                 "answered_at", "agent_id", "group_id", "line", "service_team_id", "created_by", "fraud")
# tickets: the search service rebuilds its index from each ticket's history (the envelopes the ledger published).
HISTORY_FIELDS = ("_id", "history")
