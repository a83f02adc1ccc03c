"""View logic of the lead's and administrator's portal pages: inviting a client's contact (the choices the form
offers, the body it sends, the gateway's refusals by field) and the portal feedback entries as rows.

A contact choice carries the contact and one of his addresses as a query string, so any id survives the round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from ..gateway import GatewayProblem
from ..i18n import LANGUAGES

# the invitation API's body fields → the form's: the contact and his address are one choice
FIELDS = {"contact_id": "contact", "email": "contact", "tickets": "tickets", "rights": "tickets",
          "language": "language"}
REFUSALS = {403: "invite.not_yours", 404: "invite.unknown"}


@dataclass(frozen=True)
class ContactChoice:
    value: str
    label: str
    enabled: bool


@dataclass(frozen=True)
class FeedbackRow:
    client: str
    author: str
    topic: str
    text: str
    rating: int | None
    at: str
    when: str


def contact_choices(contacts: Iterable[Mapping[str, Any]]) -> list[ContactChoice]:
    """One choice per address; a contact without one is shown, not choosable (the invitation is a mail)."""
    out = []
    for c in contacts:
        name = str(c.get("name") or c["id"])
        emails = [str(e) for e in c.get("emails") or []]
        out += [ContactChoice(urlencode({"contact_id": c["id"], "email": e}), f"{name} — {e}", True) for e in emails]
        if not emails:
            out.append(ContactChoice(urlencode({"contact_id": c["id"]}), name, False))
    return out


def _one(parsed: dict[str, list[str]], key: str) -> str | None:
    values = parsed.get(key, [])
    return values[0] if len(values) == 1 else None


def invitation_body(form: Mapping[str, Any], ticket_access: Sequence[str],
                    lang: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The invitation as the gateway takes it, or the fields to fix (catalogue keys) before anything is sent."""
    raw = form.get("contact")
    parsed = parse_qs(raw) if isinstance(raw, str) else {}
    contact_id, email = _one(parsed, "contact_id"), _one(parsed, "email")
    if not contact_id or not email or len(parsed.get("contact_id", [])) != 1:
        return None, {"contact": "invite.choose_contact"}
    tickets = form.get("tickets")
    if tickets not in ticket_access:
        return None, {"tickets": "invite.choose_rights"}
    language = form.get("language")
    return {"contact_id": contact_id, "email": email, "rights": {"tickets": tickets},
            "language": language if language in LANGUAGES else lang}, {}


def invitation_errors(exc: GatewayProblem) -> dict[str, str]:
    """The gateway's 422 items by the form's field; its other refusals are about the contact chosen."""
    out: dict[str, str] = {}
    for e in exc.errors:
        names = [str(p) for p in e.get("loc", []) if isinstance(p, str) and p in FIELDS]
        if names:
            out.setdefault(FIELDS[names[-1]], str(e.get("msg", "")))
    if not out:
        out["contact"] = REFUSALS.get(exc.status) or exc.detail or exc.title
    return out


def minute(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def feedback_rows(items: Iterable[Mapping[str, Any]]) -> list[FeedbackRow]:
    return [FeedbackRow(client=str(i.get("client_name") or i.get("client_id") or ""),
                        author=str(i.get("name") or i.get("contact_id") or ""), topic=str(i.get("topic") or "other"),
                        text=str(i.get("text") or ""), rating=i.get("rating"), at=str(i.get("at") or ""),
                        when=minute(str(i.get("at") or ""))) for i in items]
