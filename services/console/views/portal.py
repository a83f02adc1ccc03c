"""The client portal's view logic: the organisation's requests (open first), a request's conversation as a client may
read it, and the satisfaction survey's choices. Pure: the routes only fetch and render.

The gateway already hides internal notes from a client; the portal still shows only what a client wrote and what
support replied (an allow-list), so a note could not reach the page even if a read model ever carried one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args
from urllib.parse import urlsplit

from shared.contracts.schemas.common import ACTIVE_STATUSES, TicketStatus
from shared.contracts.schemas.feedback import Answer

from .ticket import FileLink, safe_id

ANSWERS: tuple[str, ...] = get_args(Answer)
OPEN = frozenset(s.value for s in ACTIVE_STATUSES)
CLOSED = frozenset({TicketStatus.completed.value, TicketStatus.closed.value})  # writing opens a new request instead


@dataclass(frozen=True)
class Row:
    id: str
    number: int | None
    subject: str
    status: str
    updated_at: str


def _row(doc: dict[str, Any]) -> Row:
    return Row(str(doc["id"]), doc.get("number"), str(doc.get("subject") or ""), str(doc.get("status") or ""),
               str(doc.get("updated_at") or doc.get("created_at") or ""))


def requests(page: Any) -> tuple[list[Row], list[Row]]:
    """The gateway's page of the client's tickets as (open, finished), each newest change first."""
    items = page.get("items", []) if isinstance(page, dict) else []
    found = [_row(d) for d in items if isinstance(d, dict) and isinstance(d.get("id"), str) and safe_id(d["id"])]
    found.sort(key=lambda r: r.updated_at, reverse=True)
    return [r for r in found if r.status in OPEN], [r for r in found if r.status not in OPEN]


@dataclass(frozen=True)
class Entry:
    mine: bool  # the client's side (any contact of the organisation); otherwise support's reply
    at: str
    author: str
    text: str
    files: tuple[FileLink, ...] = ()


def _files(ticket_id: str, raw: Any) -> tuple[FileLink, ...]:
    return tuple(FileLink(str(f.get("filename") or f["id"]), int(f.get("size") or 0),
                          f"/portal/tickets/{ticket_id}/attachments/{f['id']}")
                 for f in raw if isinstance(f, dict) and isinstance(f.get("id"), str) and safe_id(f["id"])) \
        if isinstance(raw, list) else ()


def _sender(raw: Any) -> str:
    s = raw if isinstance(raw, dict) else {}
    return str(s.get("name") or s.get("email") or s.get("phone") or "")


def conversation(ticket_id: str, history: Any) -> list[Entry]:
    """The client's messages and support's replies, oldest first; notes, rejections and every other record of the
    ledger are not the client's to read. The opening text shows once (it is also the first message)."""
    events = [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []
    with_message = {h.get("causation_id") for h in events if h.get("type") == "MessageReceived"}
    entries: list[Entry] = []
    for h in events:
        kind, p, at = h.get("type"), h.get("payload") or {}, str(h.get("occurred_at") or "")
        if kind == "TicketOpened" and p.get("text") and h.get("causation_id") not in with_message:
            entries.append(Entry(True, at, _sender(p.get("sender")), str(p["text"])))
        elif kind == "MessageReceived":
            content = p.get("content") or {}
            entries.append(Entry(True, at, _sender(content.get("sender")), str(content.get("text") or ""),
                                 _files(ticket_id, content.get("attachments"))))
        elif kind == "ReplySent":
            entries.append(Entry(False, at, "", str(p.get("text") or ""), _files(ticket_id, p.get("attachments"))))
    return entries


@dataclass(frozen=True)
class Survey:
    state: str  # pending | answered | expired | none (the gateway's PortalSurvey)
    url: str | None
    choices: tuple[tuple[str, str], ...]  # (answer, the survey page's one-click URL for it)


def _web_url(value: Any) -> str | None:
    """Only an absolute http(s) address may become a link: never ``javascript:`` or a path of this console."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc and not any(c in value for c in "\r\n\t ") \
        else None


def survey(raw: Any) -> Survey:
    """Feedback's own survey page answers each choice at ``<url>/<answer>`` (the links its e-mail carries too)."""
    s = raw if isinstance(raw, dict) else {}
    state = s.get("state") if s.get("state") in ("pending", "answered", "expired") else "none"
    url = _web_url(s.get("url"))
    choices = tuple((a, f"{url.rstrip('/')}/{a}") for a in ANSWERS) if state == "pending" and url else ()
    return Survey(str(state), url, choices)


def may_write(status: str) -> bool:
    """A client may write into any request not completed or closed (a resolved one reopens)."""
    return status not in CLOSED


def short_date(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso
