"""Raw e-mail → inbound message: sender, threading headers, text, attachments, auto-reply detection."""

from __future__ import annotations

from email.message import EmailMessage

from services.intake.mailparse import parse_mail


def raw(**headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "Anna <Anna@Acme.example>", "support@x", "Router"
    m["Message-ID"] = "<m2@acme.example>"
    for k, v in headers.items():
        m[k.replace("_", "-")] = v
    m.set_content("Line is down\nsince 9")
    return m


def test_headers_sender_and_text() -> None:
    ours = "<ticket.T-1.n1@frontline.local>"
    m = raw(In_Reply_To=ours, References=f"<m0@acme.example> {ours}")
    p = parse_mail(bytes(m), domain="frontline.local")
    assert p.ignored is None and not p.message.auto_submitted
    msg = p.message
    assert msg.channel == "email" and msg.external_id == "<m2@acme.example>" == msg.email_message_id
    assert msg.sender.email == "anna@acme.example" and msg.sender.name == "Anna"
    assert msg.in_reply_to == "<ticket.T-1.n1@frontline.local>"
    assert msg.references == ["<m0@acme.example>", "<ticket.T-1.n1@frontline.local>"]
    assert msg.conversation_id == "<m0@acme.example>" and msg.text == "Line is down\nsince 9"


def test_attachments_and_html_only_mail() -> None:
    m = raw()
    m.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename="scan.pdf")
    p = parse_mail(bytes(m), domain="frontline.local")
    assert [(a.filename, a.content_type, a.data) for a in p.attachments] == [("scan.pdf", "application/pdf", b"%PDF")]
    h = EmailMessage()
    h["From"], h["Subject"] = "x@y.org", "html"
    h.set_content("<p>Hello &amp; <b>bye</b></p>", subtype="html")
    parsed = parse_mail(bytes(h), domain="frontline.local").message
    assert "Hello & " in parsed.text and "<b>" not in parsed.text
    assert parsed.external_id.startswith("<sha256.")  # no Message-ID: still a stable external id


def test_auto_replies_bounces_lists_and_loops_are_flagged() -> None:
    cases = {
        "Auto-Submitted: auto-replied": raw(Auto_Submitted="auto-replied"),
        "Precedence: bulk": raw(Precedence="bulk"),
        "Precedence: junk": raw(Precedence="junk"),
        "X-Autoreply": raw(X_Autoreply="yes"),
        "mailing list": raw(List_Id="<news.example>"),
        "empty Return-Path (bounce)": raw(Return_Path="<>"),
    }
    for reason, m in cases.items():
        p = parse_mail(bytes(m), domain="frontline.local")
        assert p.ignored == reason and p.message.auto_submitted, reason
    assert parse_mail(bytes(raw(Auto_Submitted="no")), domain="frontline.local").ignored is None
    bounce = raw()
    bounce.replace_header("From", "MAILER-DAEMON@mx.example")
    assert parse_mail(bytes(bounce), domain="frontline.local").ignored == "from mailer-daemon@mx.example"
    loop = raw()
    loop.replace_header("Message-ID", "<ticket.T-1.n5@frontline.local>")
    assert parse_mail(bytes(loop), domain="frontline.local").ignored == "our own outbound mail"
