"""The demo's tickets: who writes through which door, and how far each ticket is taken (its steps).

Steps (tools/demo/journeys.py runs them, each only when the ticket needs it, so a second run changes nothing):
``claim`` (by ``prefer`` when offered to them), ``start``, ``reply``, ``hold``, ``escalate`` (to the line's
``escalates_to``), ``resolve``, ``rate`` (the client clicks "good" in the survey), ``subticket`` (a development
sub-ticket), ``away`` (the assignee goes to lunch) then ``write_again`` (the client writes once more: lost),
``flag:<name>`` (wait until the SLA or routing raises it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from tools.demo.desk import CLIENTS, contact_email, contact_phone

Door = Literal["form", "chat", "call", "inbound"]
RESOLVE = ("claim", "start", "reply", "resolve")


@dataclass(frozen=True)
class Journey:
    key: str
    door: Door
    client: str | None  # None: a sender the desk does not know (unidentified)
    contact: int  # the client's contact number (one open ticket per contact)
    subject: str
    steps: tuple[str, ...] = ()
    choice: str | None = None  # technical / plain / not_technical
    ivr: str | None = None
    prefer: str | None = None
    deadline_minutes: int | None = None  # inbound only: the client's deadline, from now

    @property
    def conversation(self) -> str:
        return {"form": f"form:demo-{self.key}-1", "chat": f"tg:demo-{self.key}", "call": f"call:demo-{self.key}-1",
                "inbound": f"demo:{self.key}"}[self.door]

    def message(self, n: int = 1, now: datetime | None = None) -> tuple[str, dict[str, Any]]:
        """The intake path and body of the client's ``n``-th message (its external id is stable: intake dedupes)."""
        email = contact_email(self.client, self.contact) if self.client else f"guest{self.key}@mail.example"
        phone = contact_phone(self.client, self.contact) if self.client else f"+7916555{int(self.key):04d}"
        text = f"{self.subject}." if n == 1 else f"Any news on this? ({self.subject})"
        if self.door == "form":
            contract = CLIENTS[self.client][3] if self.client else None
            return "/webhooks/form", {"submission_id": f"demo-{self.key}-{n}", "email": email, "subject": self.subject,
                                      "text": text, "line": self.choice, "contract_number": contract}
        if self.door == "chat":
            user = f"{self.client}-{self.contact}" if self.client else f"guest-{self.key}"
            return "/webhooks/chat", {"platform": "tg", "session_id": f"demo-{self.key}",
                                      "message_id": f"demo-{self.key}-{n}", "text": text, "button": self.choice,
                                      "user": {"id": user, "name": f"Demo {self.key}"}}
        if self.door == "call":
            return "/webhooks/call", {"call_id": f"demo-{self.key}-{n}", "caller": phone, "ivr_choice": self.ivr,
                                      "transcript": text}
        due = now + timedelta(minutes=self.deadline_minutes) if now and self.deadline_minutes else None
        return "/inbound", {"channel": "email", "external_id": f"demo-{self.key}-{n}",
                            "conversation_id": self.conversation, "sender": {"email": email}, "subject": self.subject,
                            "text": text, "requested_line": self.choice, "deadline": due.isoformat() if due else None}


J = Journey
JOURNEYS: tuple[Journey, ...] = (
    # Вектор Тур (premium, team A)
    J("01", "form", "vector", 1, "Router keeps rebooting", (), "plain"),
    J("02", "chat", "vector", 2, "No connection in the Kazan office", (), "technical"),
    J("03", "form", "vector", 3, "Invoice for February is missing", ("claim",), "plain", prefer="anna"),
    J("04", "call", "vector", 4, "Low speed on the main channel", ("claim", "start"), ivr="1", prefer="boris"),
    J("05", "form", "vector", 5, "Need a second static IP", ("claim", "start", "reply", "hold"), "plain"),
    J("06", "form", "vector", 6, "VPN drops every hour", ("claim", "start", "escalate"), "plain", prefer="anna"),
    J("07", "form", "vector", 7, "DNS does not resolve our domain", RESOLVE, "technical"),
    J("08", "form", "vector", 8, "Change the billing contact", (*RESOLVE, "rate"), "plain"),
    J("09", "inbound", "vector", 9, "Open the port for the audit today", ("claim", "start"), "technical",
      deadline_minutes=90),
    J("10", "form", "vector", 10, "Portal shows the wrong traffic", ("claim", "start", "subticket"), "technical"),
    # Globex Retail (business, team B)
    J("11", "form", "globex", 1, "Upgrade to the 500 Mbit plan", (), "not_technical"),
    J("12", "chat", "globex", 2, "Wi-Fi in the store is slow", ("claim",), "technical", prefer="vera"),
    J("13", "form", "globex", 3, "Packet loss at night", ("claim", "start"), "technical"),
    J("14", "form", "globex", 4, "Replace the broken switch", ("claim", "start", "reply", "hold"), "technical"),
    J("15", "form", "globex", 5, "BGP session flaps", ("claim", "start", "escalate"), "technical", prefer="vera"),
    J("16", "form", "globex", 6, "Discount for two more stores", RESOLVE, "not_technical"),
    J("17", "form", "globex", 7, "Reset the portal password", (*RESOLVE, "rate"), "plain"),
    J("18", "chat", "globex", 8, "Card terminals offline", ("claim", "start", "away", "write_again", "flag:lost"),
      "plain", prefer="pavel"),
    J("19", "inbound", "globex", 9, "Certificate for the tender expired", ("claim",), "not_technical",
      deadline_minutes=-120),
    # Umbrella Logistics (pilot: 1-minute SLA, fast ladder)
    J("20", "form", "umbrella", 1, "Warehouse is offline", ("flag:sla_breached",), "technical"),
    J("21", "form", "umbrella", 2, "Tracking API times out", ("claim", "flag:long_ignored"), "technical"),
    J("22", "form", "umbrella", 3, "Add a user to the portal", (*RESOLVE, "rate"), "plain"),
    J("23", "form", "umbrella", 4, "Monthly report is empty", ("claim", "start", "reply"), "plain"),
    # People the desk does not know
    J("24", "chat", None, 0, "Hello, is anyone there? My internet is down", (), "plain"),
    J("25", "call", None, 0, "Caller asks about prices", (), ivr="3"),
    J("26", "form", None, 0, "Question about connecting a new flat", ("claim", "start"), "plain"),
)
