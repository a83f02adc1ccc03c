"""Every Kafka topic in one place: name, key, partitions, retention, who writes and reads.

Strimzi ``KafkaTopic`` resources, the AsyncAPI document and the architecture page
are generated from this list; do not hand-copy topic names anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.contracts.command_owners import COMMAND_PRODUCERS

DAY_MS = 24 * 60 * 60 * 1000
HOUR_MS = 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    description: str
    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    retention_ms: int = 7 * DAY_MS  # -1: kept forever
    # Which registered message kinds travel here ("command", "event", "inbound", "deadletter").
    kinds: tuple[str, ...] = field(default=("event",))
    # "compact": the broker keeps at least the latest record of every key (a topic of current states)
    cleanup_policy: str = "delete"
    # The message types it carries, when not its schema module's events (shared/contracts/schemas/<area>.py)
    messages: tuple[str, ...] = ()

    def full(self, prefix: str = "") -> str:
        return f"{prefix}{self.name}"

    @property
    def dead_letter(self) -> TopicSpec:
        return TopicSpec(
            name=f"{self.name}.dlq",
            partitions=1,
            key=self.key,
            description=f"Records from {self.name} that failed validation or handling, with the reason.",
            producers=self.consumers,
            consumers=("operators",),
            retention_ms=30 * DAY_MS,
            kinds=("deadletter",),
        )


INBOUND_MESSAGES = TopicSpec(
    "inbound.messages", 6, "channel:conversation id",
    "Client messages from every channel and from other systems (documented, versioned schema).",
    producers=("intake", "other systems"), consumers=("intake",), kinds=("inbound",),
)
TICKETS_COMMANDS = TopicSpec(
    "tickets.commands", 12, "ticket id",
    "Commands to the ticket ledger, the only writer of ticket state.",
    producers=COMMAND_PRODUCERS, consumers=("tickets",),  # each signs what it sends (shared/runtime/command_auth.py)
    kinds=("command",),
)
TICKETS_EVENTS = TopicSpec(
    "tickets.events", 12, "ticket id",
    "Facts the ledger recorded, including CommandRejected.",
    producers=("tickets",),
    consumers=("intake", "routing", "sla", "notify", "feedback", "gateway", "search", "knowledge"),
    retention_ms=30 * DAY_MS,
)
ROUTING_EVENTS = TopicSpec(
    "routing.events", 6, "ticket id",
    "Routing alerts: lost tickets, nobody available, lead alerts.",
    producers=("routing",), consumers=("notify", "gateway"),
)
SLA_EVENTS = TopicSpec(
    "sla.events", 6, "ticket id",
    "SLA warnings, breaches, escalation steps and client-deadline reminders.",
    producers=("sla",), consumers=("notify", "gateway"),
)
FEEDBACK_EVENTS = TopicSpec(
    "feedback.events", 6, "ticket id",
    "Surveys created and answered, fraud alerts.",
    producers=("feedback",), consumers=("notify", "gateway"),
)
NOTIFY_EVENTS = TopicSpec(
    "notify.events", 6, "ticket id",
    "Delivery outcomes of notifications.",
    producers=("notify",), consumers=("gateway",),
)
# Its records carry portal sign-in links (secret until used or expired, at most an hour): only the gateway
# writes, only notify reads, and an hour's retention keeps no live link on the broker for long.
PORTAL_EVENTS = TopicSpec(
    "portal.events", 3, "sign-in link id",
    "Portal sign-in links for notify to mail to a client's contact.",
    producers=("gateway",), consumers=("notify",), retention_ms=HOUR_MS,
)

# Carries no article text (shared/contracts/schemas/knowledge.py): nothing internal leaks to a topic reader.
KNOWLEDGE_EVENTS = TopicSpec(
    "knowledge.events", 3, "article or news id",
    "Knowledge base: article versions and workflow steps, articles linked to tickets, news saved.",
    producers=("knowledge",), consumers=(),
)
# Carries internal articles' text, as tickets.events carries internal notes: only knowledge writes and only search
# reads it (tools/k8s.py's ACLs). Compacted and kept forever, so the latest state of every article stays on it and
# the search service rebuilds its article index by reading it from the beginning.
KNOWLEDGE_ARTICLES = TopicSpec(
    "knowledge.articles", 3, "article id",
    "Knowledge base: each article's published state (its text as plain text, its scope fields) or its withdrawal.",
    producers=("knowledge",), consumers=("search",), retention_ms=-1, cleanup_policy="compact",
    messages=("ArticlePublishedState", "ArticleWithdrawn"),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    INBOUND_MESSAGES, TICKETS_COMMANDS, TICKETS_EVENTS, ROUTING_EVENTS, SLA_EVENTS, FEEDBACK_EVENTS, NOTIFY_EVENTS,
    PORTAL_EVENTS, KNOWLEDGE_EVENTS, KNOWLEDGE_ARTICLES,
)


def all_topics_with_dead_letters() -> list[TopicSpec]:
    return [t for spec in ALL_TOPICS for t in (spec, spec.dead_letter)]
