"""Issue 10, scenario 1: one e-mail's whole life, every service a separate process.

A known contact writes to the support mailbox (dovecot; intake polls it over IMAP). The ticket carries the
contact's contract and is offered to the first line; nobody claims, so routing assigns it; nobody takes it
into work, so 15 minutes later the SLA ladder adds the head of customer service and marks it long ignored.
The agent takes it, hands it to line 2; a line-2 agent claims it, opens a development sub-ticket and
resolves it with both required fields. The client's survey mail arrives at the SMTP server, the test
follows its "good" link, and the ticket is completed. Every mail arrives exactly once.

Driven only through public doors: the mailbox, the gateway API (agents, administrator), the answer link.
Time moves with the shared file clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from e2e_support import MONDAY, assert_each_once, at_of, desk, events, mails, plain, recorded, smtp_env

from tests.support.imap_server import MailServer
from tests.support.notify_servers import SmtpServer
from tests.support.testing import eventually

CLAIM_TIMEOUT = 60.0
CLIENT = "anna@acme.example"

DIRECTORIES = {
    # a line's escalation target is written before the line that names it
    "lines": [{"id": "second", "order": 2}, {"id": "first", "order": 1, "escalates_to": "second"},
              {"id": "development", "order": 99}],
    "agents": [
        {"id": "ann", "name": "Ann", "email": "ann@desk.test", "line_ids": ["first"], "language": "en"},
        {"id": "lena", "name": "Lena", "email": "lena@desk.test", "line_ids": ["second"], "language": "en"},
        {"id": "dima", "name": "Dima", "email": "dima@desk.test", "line_ids": ["development"], "language": "en"},
        {"id": "helen", "name": "Helen", "email": "helen@desk.test", "roles": ["head_of_service"],
         "language": "en"},
    ],
    "clients": [{"id": "acme", "name": "Acme Ltd"}],
    "contracts": [{"number": "C-100", "client_id": "acme"}, {"number": "C-200", "client_id": "acme"}],
    "contacts": [{"id": "anna", "client_id": "acme", "name": "Anna Petrova", "emails": [CLIENT],
                  "contract_number": "C-200"}],
}


def client_mail() -> bytes:
    m = EmailMessage()
    m["From"], m["To"] = "Anna Petrova <Anna@Acme.example>", "support@desk.test"
    m["Subject"], m["Message-ID"] = "Internet is down", "<e2e-first@acme.example>"
    m["Date"] = "Mon, 02 Mar 2026 13:00:00 +0300"
    m.set_content("No connection at the office since nine. Please help.")
    return bytes(m)


async def test_email_to_rated_resolution(env: dict[str, str], tmp_path: Path, mailserver: MailServer,
                                         smtp: SmtpServer) -> None:
    user, password = mailserver.add_user()
    box = {"name": "support", "host": "127.0.0.1", "port": mailserver.port, "security": "plain",
           "username": user, "password": password}
    extra = {**smtp_env(smtp.port), "INTAKE_MAILBOXES": json.dumps([box]),
             "INTAKE_IMAP_POLL_SECONDS": "0.5", "ROUTING_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT)}
    async with desk(env, tmp_path, MONDAY, extra) as d:
        await d.seed(DIRECTORIES)

        # the client's mail → a ticket with the contact's contract, offered to the first line
        await asyncio.to_thread(mailserver.deliver, user, client_mail())
        opened = await d.first_ticket("the mail opened a ticket", channel="email")
        tid = opened["id"]
        doc = await d.until(tid, lambda t: t["status"] == "offered", "offered")
        assert doc["sender"]["email"] == CLIENT and not doc["unidentified"]
        assert doc["client"]["client_id"] == "acme" and doc["client"]["contract_number"] == "C-200"
        assert doc["client"]["contact_id"] == "anna" and doc["line"] == "first" and doc["offered_to"] == ["ann"]
        assert doc["email_message_ids"] == ["<e2e-first@acme.example>"]

        # nobody claims within the claim timeout → routing assigns an available agent itself
        [offer] = events(doc, "TicketOffered")
        d.jump(at_of(offer) + timedelta(seconds=CLAIM_TIMEOUT + 1))
        doc = await d.until(tid, lambda t: t["status"] == "assigned", "auto-assigned")
        [assigned] = events(doc, "TicketAssigned")
        assert doc["assignee_id"] == "ann" and assigned["payload"]["mode"] == "auto"
        assert not doc["participants"] and not doc["flags"].get("long_ignored")

        # not taken into work for 15 minutes → head of customer service joins, the ticket is "long ignored"
        d.jump(at_of(assigned) + timedelta(minutes=15, seconds=1))
        doc = await d.until(tid, lambda t: t["flags"].get("long_ignored") and t["participants"],
                            "escalated as long ignored")
        assert doc["participants"] == [{"user_id": "helen", "role": "head_of_service"}]
        assert doc["status"] == "assigned" and doc["assignee_id"] == "ann"
        assert tid in await d.queue("long_ignored")

        # ann takes it into work and hands it to line 2; lena (line 2) claims it
        assert (await d.act("ann", tid, "start"))["status"] == "in_progress"
        doc = await d.act("ann", tid, "escalate", {"reason": "needs a network engineer"})
        assert doc["line"] == "second" and doc["assignee_id"] is None
        doc = await d.until(tid, lambda t: t["status"] == "offered" and t["line"] == "second", "offered to line 2")
        assert doc["offered_to"] == ["lena"]
        doc = await d.act("lena", tid, "claim")
        assert doc["status"] == "assigned" and doc["assignee_id"] == "lena"
        assert doc["handovers"][0]["from_line"] == "first" and doc["handovers"][0]["taken_by"] == "lena"
        await d.act("lena", tid, "start")

        # a development sub-ticket, visible from the parent and in the development queue
        doc = await d.act("lena", tid, "subtickets", {"summary": "Router firmware drops the VLAN after a reboot"})
        [child_ref] = doc["children"]
        child = await d.until(child_ref["id"], lambda t: t["status"] == "offered", "sub-ticket offered")
        assert child["parent_id"] == tid and child["line"] == "development" and child["offered_to"] == ["dima"]
        assert child["client"]["client_id"] == "acme" and child["created_by"] == "lena"
        assert child_ref["id"] in await d.queue("development")

        # resolving needs both fields
        refused = await d.act("lena", tid, "resolve", {"problem": "No internet at the office", "solution": "  "},
                              expect=409)
        assert refused["code"] == "resolution_fields_required"
        doc = await d.act("lena", tid, "resolve", {"problem": "No internet at the office",
                                                   "solution": "Rolled back the router firmware"})
        assert doc["status"] == "resolved" and doc["resolution"]["agent_id"] == "lena"
        assert doc["resolution"]["solution"] == "Rolled back the router firmware"

        # the survey reaches the client's mailbox; the client follows the "good" link in it
        def survey() -> EmailMessage | None:
            found = [m for m in smtp.sink.to(CLIENT) if "How did we do?" in str(m["Subject"])]
            return found[0] if found else None
        mail: EmailMessage = await eventually(survey, 45, interval=0.2, message="survey e-mail")
        link = re.search(r"Good: (\S+)", plain(mail))
        assert link is not None and link[1].startswith(d.stack.url("feedback")), plain(mail)
        page = await d.http.get(link[1])
        assert page.status_code == 200, page.text
        doc = await d.until(tid, lambda t: t["status"] == "completed", "completed by the rating")
        assert doc["rating"]["answer"] == "good" and events(doc, "TicketCompleted")[0]["payload"]["reason"] == "rated"
        again = await d.http.get(link[1])  # the link works once: a second click changes nothing
        assert again.status_code == 409, again.text

        # every notification reached the SMTP server exactly once
        expected = sorted([
            (CLIENT, "Your request is being worked on"),  # one for auto-assignment, start, claim, start again
            ("ann@desk.test", "Assigned to you: Internet is down"),  # the automatic assignment
            ("helen@desk.test", "Escalation, step 1"),  # the long-ignored ladder step
            (CLIENT, "Your request is resolved"),
            (CLIENT, "How did we do?"),
        ])
        await eventually(lambda: len(smtp.sink.messages) >= len(expected), 30, interval=0.2,
                         message=f"{len(expected)} mails (got {mails(smtp.sink.messages)})")
        sent = await eventually(lambda: recorded(d, tid, "email", len(expected)), 30, interval=0.2,
                                    message="the ledger recorded every delivery")
        await asyncio.sleep(2)  # nothing else (a duplicate, a late notice) is still on its way
        received = list(smtp.sink.messages)
        assert mails(received) == expected
        assert_each_once(received)
        assert {m["X-Frontline-Notification"] for m in received} == sent
        assert all(m["X-Frontline-Ticket"] == tid for m in received)
        assert {str(m["To"]).lower() for m in received if m["In-Reply-To"]} == {CLIENT}  # threaded under her mail

