"""The search page's view logic (issue 22): the gateway's query from the page's filters, and its highlighted
fragments made safe to show.

The gateway returns each fragment as HTML (escaped text, the matched words in ``<mark>``). The console does not put
that HTML in a page: it cuts it at the ``<mark>`` tags only, unescapes the text between them and hands the pieces to
the template, whose autoescape escapes them again. A fragment carrying any other markup shows it as text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shared.contracts.schemas.common import TicketStatus

from .ticket import safe_id

_MARK = re.compile(r"(<mark>.*?</mark>)", re.S)
STATUSES = tuple(s.value for s in TicketStatus)
FILTERS = ("line", "tag", "assignee_id")
FIELDS = ("subject", "text", "notes", "people")


def pieces(fragment: str) -> list[tuple[str, bool]]:
    """``"a &lt;b&gt; <mark>word</mark>"`` → ``[("a <b> ", False), ("word", True)]``: plain text, marked or not."""
    out = []
    for part in _MARK.split(fragment or ""):
        if not part:
            continue
        marked = part.startswith("<mark>") and part.endswith("</mark>")
        text = html.unescape(part[6:-7] if marked else part)
        if text:
            out.append((text, marked))
    return out


def _day(raw: str | None, end: bool) -> str | None:
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        return None
    return (day + timedelta(days=1) if end else day).isoformat() + "T00:00:00Z"


def query(params: Mapping[str, str], multi: list[str], staff: bool) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The gateway's ``GET /search`` parameters from the page's (None: nothing asked yet), and the form as it stays.
    A created range is whole days: ``created_to`` includes its day."""
    form = {k: (params.get(k) or "").strip() for k in ("q", *FILTERS, "created_from", "created_to")}
    if not form["q"]:
        return None, form
    out: dict[str, Any] = {"q": form["q"][:500], "limit": 50}
    statuses = [s for s in multi if s in STATUSES]
    if statuses:
        out["status"] = statuses
    if staff:
        out |= {k: form[k] for k in FILTERS if form[k]}
    if start := _day(form["created_from"], False):
        out["created_from"] = start
    if stop := _day(form["created_to"], True):
        out["created_to"] = stop
    return out, form


@dataclass(frozen=True)
class Hit:
    url: str
    number: int
    subject: str
    status: str
    client: str
    fragments: tuple[tuple[str, tuple[tuple[str, bool], ...]], ...]  # (field, pieces)


def hits(page: Any, staff: bool) -> list[Hit]:
    """Each item the gateway found (it checked the scope) as a link to where this user opens it: staff the ticket
    page, clients the portal's; an id that could walk another path is dropped."""
    items = page.get("items") if isinstance(page, dict) else None
    out = []
    for i in items or []:
        if not isinstance(i, dict) or not isinstance(i.get("id"), str) or not safe_id(i["id"]):
            continue
        frags = tuple((str(h.get("field")), tuple(pieces(str(h.get("html") or ""))))
                      for h in i.get("highlights") or [] if isinstance(h, dict) and h.get("field") in FIELDS
                      and (staff or h.get("field") != "notes"))
        out.append(Hit(f"/tickets/{i['id']}" if staff else f"/portal/tickets/{i['id']}", int(i.get("number") or 0),
                       str(i.get("subject") or ""), str(i.get("status") or ""), str(i.get("client_name") or ""),
                       frags))
    return out
