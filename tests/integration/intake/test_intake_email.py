"""The e-mail channel through a real IMAP server (dovecot), the real broker, database and ledger."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from intake_support import stack

from services.intake.settings import Mailbox
from shared.contracts.mail import outbound_message_id
from tests.support.imap_server import MailServer
from tests.support.testing import eventually


def mail(sender: str, subject: str, text: str, message_id: str, **headers: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, "support@frontline.test", subject, message_id
    m["Date"] = "Mon, 02 Mar 2026 10:00:00 +0300"
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content(text)
    return bytes(m)


async def test_mail_opens_threads_and_ignores_loops(env: dict[str, str], mailserver: MailServer) -> None:
    user, password = mailserver.add_user()
    tls_user, tls_password = mailserver.add_user()
    boxes = [Mailbox(name="support", host="127.0.0.1", port=mailserver.port, security="plain", username=user,
                     password=password, move_to="Processed"),
             Mailbox(name="secure", host="localhost", port=mailserver.tls_port, security="tls", username=tls_user,
                     password=tls_password, ca_file=mailserver.ca_file)]
    deliver = mailserver.deliver
    async with stack(env, mailboxes=boxes, imap_poll_seconds=0.2) as s:
        first = mail("Anna <ANNA@acme.example>", "Router is down", "No connection since 9:00", "<m1@acme.example>")
        await asyncio.to_thread(deliver, user, first)
        [ticket] = await s.wait_tickets(1)
        tid, number = ticket["_id"], ticket["number"]
        assert ticket["channel"] == "email" and ticket["client"]["client_id"] == "acme"
        assert ticket["client"]["contract_number"] == "C-100" and ticket["urgency"] == "urgent"
        assert ticket["sender"]["email"] == "anna@acme.example"

        ours = outbound_message_id(tid, "n1", s.settings.mail_domain)
        for raw in (
            # the client's people join by thread: our Message-ID, their earlier mail's Message-ID, the
            # [#number] subject tag (Boris is Anna's colleague at Acme)
            mail("boris@acme.example", "Re: Router is down", "reply 1", "<r1@acme.example>", In_Reply_To=ours),
            mail("Anna <anna@acme.example>", "Re: Router", "reply 2", "<r2@acme.example>",
                 References="<m1@acme.example> <zz@acme.example>"),
            mail("boris@acme.example", f"Invoice question [#{number}]", "reply 3", "<r3@acme.example>"),
            # anyone else citing the ticket opens one of their own, flagged for an agent
            mail("cfo@partner.example", f"Invoice question [#{number}]", "not theirs", "<x3@partner.example>"),
            # the same mail delivered twice adds nothing
            first,
            # auto-replies, bulk mail, bounces and our own mail coming back open nothing
            mail("bot@far.example", "Out of office", "away", "<a1@far.example>", Auto_Submitted="auto-replied"),
            mail("news@far.example", "Digest", "news", "<a2@far.example>", Precedence="bulk"),
            mail("x@far.example", "Re: hi", "auto", "<a3@far.example>", X_Autoreply="yes"),
            mail("MAILER-DAEMON@far.example", "Undeliverable", "bounce", "<a4@far.example>"),
            mail("support@frontline.test", "Loop", "ours", outbound_message_id(tid, "n2", s.settings.mail_domain)),
            # an unknown sender still gets a ticket, marked unidentified
            mail("Stranger <stranger@nowhere.example>", "Hello", "who am I", "<u1@nowhere.example>"),
        ):
            await asyncio.to_thread(deliver, user, raw)
        over_tls = mail("greta@globex.example", "Over TLS", "hi", "<t1@globex.example>")
        await asyncio.to_thread(deliver, tls_user, over_tls)

        await eventually(lambda: asyncio.to_thread(_drained, mailserver, user, 12), 60, message="inbox drained")
        joined = await s.wait_messages(tid, 4, timeout=60)
        tickets = await s.wait_tickets(4, timeout=60)
        by_sender = {d["sender"]["email"]: d for d in tickets}
        assert set(by_sender) == {"anna@acme.example", "stranger@nowhere.example", "greta@globex.example",
                                  "cfo@partner.example"}
        assert by_sender["stranger@nowhere.example"]["unidentified"]
        assert by_sender["cfo@partner.example"]["flags"]["unverified_thread"]
        assert by_sender["greta@globex.example"]["client"]["contract_number"] == "G-7"
        ignored = {d["_id"]: d["ignored"] async for d in s.db.intake_messages.find({"ignored": {"$exists": True}})}
        assert len(ignored) == 5
        await asyncio.sleep(0.5)  # nothing else still in flight
        doc = await s.db.tickets.find_one({"_id": tid})
        assert doc is not None and doc["message_count"] == 4 == joined["message_count"]
        assert sorted(doc["email_message_ids"]) == ["<m1@acme.example>", "<r1@acme.example>",
                                                    "<r2@acme.example>", "<r3@acme.example>"]
        assert len(await s.tickets()) == 4
        # the TLS mailbox only marks mail seen (no move_to)
        assert await asyncio.to_thread(mailserver.folder, tls_user, "INBOX", "SEEN") == [b"1"]


def _drained(server: MailServer, user: str, moved: int) -> bool:
    return not server.folder(user, "INBOX") and len(server.folder(user, "Processed")) == moved
