"""The ticket page's view logic: the conversation from the ledger's history, the actions that apply, the SLA rows
and the gateway's refusals in words. Pure: the route only fetches and renders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shared.contracts.schemas.common import ACTIVE_STATUSES, FINISHED_STATUSES, WORKING_STATUSES

from ..gateway import GatewayProblem, GatewayUnavailable
from ..i18n import CATALOGUE, t

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$")
STAFF = frozenset({"specialist", "team_lead", "administrator"})
LEADS = frozenset({"team_lead", "administrator"})
ACTIVE = frozenset(s.value for s in ACTIVE_STATUSES)
WORKING = frozenset(s.value for s in WORKING_STATUSES)
FINISHED = frozenset(s.value for s in FINISHED_STATUSES)


def safe_id(value: str) -> bool:
    """A ticket or file id as the desk makes them: nothing that could walk another path of the gateway."""
    return bool(_ID.match(value))


@dataclass(frozen=True)
class FileLink:
    name: str
    size: int
    url: str


@dataclass(frozen=True)
class Item:
    kind: str  # client | reply | note | callback
    at: str
    author: str
    text: str
    files: tuple[FileLink, ...] = ()
    answered: bool | None = None


def _files(ticket_id: str, raw: Any) -> tuple[FileLink, ...]:
    return tuple(FileLink(str(f.get("filename") or f["id"]), int(f.get("size") or 0),
                          f"/tickets/{ticket_id}/attachments/{f['id']}")
                 for f in raw or [] if isinstance(f, dict) and isinstance(f.get("id"), str) and safe_id(f["id"]))


def _who(sender: Any) -> str:
    s = sender if isinstance(sender, dict) else {}
    return str(s.get("name") or s.get("email") or s.get("phone") or s.get("chat_id") or "")


def thread(ticket_id: str, history: list[dict[str, Any]]) -> list[Item]:
    """Client messages, replies, internal notes and call-backs, oldest first. The first message is recorded twice
    (the opening and the message, one command): it is shown once, as the message."""
    with_message = {h.get("causation_id") for h in history if h.get("type") == "MessageReceived"}
    items: list[Item] = []
    for h in history:
        kind, p, at = h.get("type"), h.get("payload") or {}, str(h.get("occurred_at") or "")
        if kind == "TicketOpened" and p.get("text") and h.get("causation_id") not in with_message:
            items.append(Item("client", at, _who(p.get("sender")) or str(h.get("actor") or ""), str(p["text"])))
        elif kind == "MessageReceived":
            c = p.get("content") or {}
            items.append(Item("client", at, _who(c.get("sender")), str(c.get("text") or ""),
                              _files(ticket_id, c.get("attachments"))))
        elif kind == "ReplySent":
            items.append(Item("reply", at, str(p.get("agent_id") or h.get("actor") or ""), str(p.get("text") or ""),
                              _files(ticket_id, p.get("attachments"))))
        elif kind == "NoteAdded":
            items.append(Item("note", at, str(p.get("author_id") or h.get("actor") or ""), str(p.get("text") or ""),
                              _files(ticket_id, p.get("attachments"))))
        elif kind == "TicketAbsorbed":  # a merge or split brought these here: the conversation shows them too
            items += [Item("client", str(c.get("received_at") or at), _who(c.get("sender")), str(c.get("text") or ""),
                           _files(ticket_id, c.get("attachments"))) for c in p.get("messages") or []]
            items += [Item("reply", str(r.get("at") or at), str(r.get("agent_id") or ""),
                           str(r.get("text") or ""), _files(ticket_id, r.get("attachments")))
                      for r in p.get("replies") or []]
        elif kind == "CallbackLogged":
            items.append(Item("callback", at, str(p.get("agent_id") or ""), str(p.get("comment") or ""),
                              answered=bool(p.get("answered"))))
    return items


def event_label(kind: str, lang: str) -> str:
    key = f"ticket.event.{kind}"
    return t(key, lang) if key in CATALOGUE else kind


def actions(ticket: dict[str, Any], user_id: str, role: str) -> frozenset[str]:
    """What the ticket page offers: the ledger's own status rules (shared.contracts), so a shown button is one
    the ledger would take; a race it loses anyway comes back as a refusal in words."""
    if role not in STAFF:
        return frozenset()
    status, mine = ticket.get("status"), ticket.get("assignee_id") == user_id
    out = {"note"}
    if status == "offered" and user_id in (ticket.get("offered_to") or []):
        out.add("claim")
    if status == "assigned" and mine:
        out.add("start")
    if status in WORKING and (status != "assigned" or mine):
        out |= {"reply", "resolve"}
    if status == "in_progress":
        out.add("hold")
    if status == "waiting_customer":
        out.add("resume")
    if status in ACTIVE:
        out |= {"escalate", "subticket"}
    if status in ACTIVE or status == "resolved":
        out |= {"classify", "callback"}
    if status in FINISHED:
        out.add("reopen")
    if status in ("resolved", "completed"):
        out.add("close")
    if ticket.get("unidentified") or not ticket.get("client") or role in LEADS:
        out.add("link")
    return frozenset(out)


REFUSALS = frozenset({"already_claimed", "already_yours", "not_offered", "not_assignee", "invalid_state",
                      "reopen_window_passed", "resolution_fields_required", "same_line", "open_sub_tickets",
                      "already_identified", "no_line", "not_on_chain", "no_next_line", "not_found"})


def refusal(exc: GatewayProblem, lang: str) -> str:
    """The gateway's refusal as a sentence: the ledger's code when we know it, else its own detail."""
    if isinstance(exc, GatewayUnavailable) or exc.status >= 500:
        return t("error.unavailable", lang)
    if exc.code in REFUSALS:
        return t(f"ticket.reject.{exc.code}", lang, detail=exc.detail or "")
    return t("ticket.reject.other", lang, detail=exc.detail or exc.title)


@dataclass(frozen=True)
class SlaRow:
    name: str
    state: str  # running | paused | met | met_late | open
    due_at: str | None
    frozen: str | None
    warned: bool
    breached: bool


def _span(seconds: float) -> str:
    s = int(seconds)
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return f"{d}d {h}h" if d else f"{h}h {m:02d}m" if h else f"{m}m"


def sla_rows(sla: dict[str, Any] | None) -> list[SlaRow]:
    """Each target: a countdown to ``due_at`` while it runs (the SLA service computed it on the business calendar),
    frozen at the business time left while paused, or met (in time or late)."""
    rows = []
    for name, tg in ((sla or {}).get("targets") or {}).items():
        if tg.get("met") is not None:
            state = "met" if tg["met"] else "met_late"
        else:
            state = "running" if tg.get("running") and tg.get("due_at") else (
                "paused" if tg.get("paused_seconds_left") is not None else "open")
        left = tg.get("paused_seconds_left")
        rows.append(SlaRow(name, state, tg.get("due_at") if state == "running" else None,
                           _span(left) if state == "paused" and left is not None else None,
                           bool(tg.get("warned")), bool(tg.get("breached"))))
    return rows
