"""A macro applied to a ticket: the commands the individual actions would send, in a fixed order.

The reply goes first (it is written for the ticket as it was), then classification, tags and custom fields (the
fields after the type they may depend on), and a change of status last, so nothing is added to a ticket the macro
has just resolved. Each command's id derives from the apply request's id, so a retried request (the same
Idempotency-Key) sends the same commands and the ledger gives each its one effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.contracts.envelope import Message
from shared.contracts.language import LANGUAGES, Language
from shared.contracts.schemas import tickets
from shared.runtime.ids import derived_id

from .model import MacroIn
from .render import MacroTemplateError, context_for, render

ORDER = ("reply", "classify", "tags", "fields", "hold", "resolve")
DEFAULT_LANGUAGE: Language = "en"


@dataclass(frozen=True)
class Step:
    name: str
    command: Message
    command_id: str


def step_id(apply_id: str, step: str) -> str:
    return derived_id(apply_id, "macro-step", step)


def language_for(macro: MacroIn, ticket: dict[str, Any], requested: Language | None) -> Language:
    """The requested language, else the client's, else the default, else whichever text the macro has."""
    texts = macro.reply.model_dump(exclude_none=True) if macro.reply else {}
    if requested is not None:
        if macro.reply is not None and requested not in texts:
            raise MacroTemplateError(f"the macro has no reply text in {requested}; it has {', '.join(sorted(texts))}")
        return requested
    wanted = ticket.get("language")
    for lang in (wanted, DEFAULT_LANGUAGE, *LANGUAGES):
        if lang in LANGUAGES and (not texts or lang in texts):
            return lang  # type: ignore[return-value]
    return DEFAULT_LANGUAGE  # pragma: no cover - LANGUAGES always holds one of the texts


def plan(macro: MacroIn, ticket: dict[str, Any], *, agent_id: str, agent_name: str, language: Language,
         apply_id: str) -> list[Step]:
    """Raises :class:`MacroTemplateError` (nothing sent) when a text cannot be rendered for this ticket."""
    ctx = context_for(ticket, agent_name, language)
    a = macro.actions
    commands: dict[str, Message] = {}
    if macro.reply is not None:
        source = getattr(macro.reply, language)
        commands["reply"] = tickets.ReplyToClient(agent_id=agent_id, text=render(source, ctx))
    if a.classify is not None:
        commands["classify"] = tickets.ClassifyTicket(**a.classify.model_dump())
    if a.add_tags or a.remove_tags:
        commands["tags"] = tickets.ChangeTags(add=a.add_tags, remove=a.remove_tags, by=agent_id)
    if a.fields:
        commands["fields"] = tickets.SetCustomFields(values=a.fields, set_by=agent_id)
    if a.hold is not None:
        commands["hold"] = tickets.PutOnHold(reason=a.hold.reason)
    if a.resolve is not None:
        commands["resolve"] = tickets.ResolveTicket(agent_id=agent_id, problem=render(a.resolve.problem, ctx),
                                                    solution=render(a.resolve.solution, ctx))
    return [Step(name, commands[name], step_id(apply_id, name)) for name in ORDER if name in commands]
