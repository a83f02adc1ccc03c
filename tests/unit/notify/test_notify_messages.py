"""Message building without I/O: SMS encoding and segments, E.164, templates, MIME headers, error classification."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosmtplib
import pytest

from services.notify.email import build_message, classify
from services.notify.settings import NotifySettings
from services.notify.sms import classify as sms_classify
from services.notify.sms import signature, valid_signature
from services.notify.sms_text import fit, is_gsm7, segments, to_e164
from services.notify.templates import (
    SAMPLES,
    TemplateRenderError,
    UnknownTemplate,
    preview,
    render,
    template_names,
)
from shared.contracts.mail import ticket_of_message_id

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "encoding", "units", "parts"), [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),  # …and never straddle parts (naively 2)
    ("я" * 70, "UCS-2", 70, 1),
    ("я" * 71, "UCS-2", 71, 2),
    ("я" * 134, "UCS-2", 134, 2),
    ("я" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # astral characters are surrogate pairs
    ("a" * 66 + "😀" + "a" * 66, "UCS-2", 134, 3),  # a surrogate pair is not split either (naively 2)
])
def test_sms_segments(text: str, encoding: str, units: int, parts: int) -> None:
    got = segments(text)
    assert (got.encoding, got.units, got.segments) == (encoding, units, parts)


def test_sms_fit_keeps_the_encoding_and_the_limit() -> None:
    assert is_gsm7("Hello @ £ {x}") and not is_gsm7("Привет")
    short = fit("a" * 400, 2)
    assert segments(short).segments == 2 and short.endswith("...") and is_gsm7(short)
    ru = fit("я" * 400, 1)
    assert len(ru) == 70 and ru.endswith("…")
    assert fit("line one\n\nline two", 1) == "line one line two"


def test_e164() -> None:
    assert to_e164("8 (912) 345-67-89") == "+79123456789"
    assert to_e164("+1 415 555 2671") == "+14155552671"
    assert to_e164("020 7946 0958", "GB") == "+442079460958"
    assert to_e164("12") is None and to_e164(None) is None and to_e164("not a phone") is None


def test_every_template_renders_in_both_languages() -> None:
    names = template_names()
    assert set(names) == set(SAMPLES) and len(names) == 17
    for name in names:
        for lang in ("ru", "en"):
            r = preview(name, lang)
            assert r.subject and "\n" not in r.subject and r.text.strip() and r.html.startswith("<!doctype html>")
            assert f'lang="{lang}"' in r.html
    assert "решено" in preview("ticket_resolved", "ru").subject
    assert "resolved" in preview("ticket_resolved", "en").subject


def test_deadline_reminder_wording_in_both_languages() -> None:
    en = preview("deadline_reminder", "en", {"remaining_minutes": 90, "subject": "<i>VPN</i>"})
    assert en.subject == "[#1042] Client deadline in 1 h 30 min" and "1 h 30 min left" in en.text
    assert '"<i>VPN</i>"' in en.text and "&lt;i&gt;VPN&lt;/i&gt;" in en.html and "<i>" not in en.html
    assert "Assignee:" not in en.text, "the assignee is not told who the assignee is"
    ru = preview("deadline_reminder", "ru", {"remaining_minutes": 1440, "reason": "team_lead", "agent_name": None})
    assert ru.subject == "[#1042] До срока клиента 24 ч" and "осталось 24 ч." in ru.text
    assert "Исполнитель пока не назначен" in ru.text
    covering = preview("deadline_reminder", "ru", {"remaining_minutes": 5, "reason": "covering:ivan"})
    assert "осталось 5 мин." in covering.text and "Исполнитель: Ivan." in covering.text


def test_html_is_autoescaped_and_plain_text_is_not() -> None:
    r = preview("reply", "en", {"text": "<b>bold</b> & \"quoted\""})
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in r.html and "<b>bold</b>" not in r.html
    assert "<b>bold</b> & \"quoted\"" in r.text
    survey = preview("survey", "en", {"links": {"good": "https://x/?a=1&b=2\"><script>", "bad": "b", "not_mine": "n"}})
    assert "<script>" not in survey.html and 'href="https://x/?a=1&amp;b=2&#34;&gt;&lt;script&gt;"' in survey.html


def test_unknown_templates_and_missing_variables_are_reported() -> None:
    with pytest.raises(UnknownTemplate):
        preview("nope", "en")
    with pytest.raises(UnknownTemplate):
        render("nope", "en", {})
    with pytest.raises(TemplateRenderError):
        render("reply", "en", {"number": 1})  # StrictUndefined: a typo in a template is an error, not a blank
    assert render("reply", "de", SAMPLES["reply"]).subject.startswith("Re:")  # unknown language → English


def settings() -> NotifySettings:
    return NotifySettings(mail_domain="desk.test", mail_from="Desk <desk@desk.test>", mail_reply_to="reply@desk.test")


def delivery(**kw: object) -> dict[str, object]:
    return {"_id": "n-1", "ticket_id": "t-1", "address": "anna@c.test", "subject": "Re: [#9] Printer",
            "text": "Привет\n", "html": "<p>Привет</p>", "language": "ru", "automatic": True, **kw}


def test_mime_headers_thread_and_mark_automatic_mail() -> None:
    msg = build_message(delivery(in_reply_to="m1@c.test", references=["<m0@c.test>", "<m1@c.test>"]), settings(), NOW)
    assert msg["Message-ID"] == "<ticket.t-1.n-1@desk.test>"
    assert ticket_of_message_id(msg["Message-ID"], "desk.test") == "t-1"
    assert msg["In-Reply-To"] == "<m1@c.test>" and msg["References"] == "<m0@c.test> <m1@c.test>"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Reply-To"] == "reply@desk.test"
    assert msg["Date"] == "Mon, 02 Mar 2026 10:00:00 +0000" and msg.is_multipart()
    assert msg.get_body(preferencelist=("plain",)).get_content() == "Привет\n"  # type: ignore[union-attr]
    human = build_message(delivery(automatic=False), settings(), NOW)
    assert human["Auto-Submitted"] is None and human["In-Reply-To"] is None and human["References"] is None
    only_parent = build_message(delivery(in_reply_to="<m1@c.test>", references=[]), settings(), NOW)
    assert only_parent["References"] == "<m1@c.test>"


def test_smtp_errors_are_classified() -> None:
    refused = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "User unknown", "x@y")])
    assert classify(refused).permanent
    busy = aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "Mailbox busy", "x@y")])
    assert not classify(busy).permanent
    assert classify(aiosmtplib.SMTPResponseException(554, "rejected")).permanent
    assert not classify(aiosmtplib.SMTPResponseException(535, "auth failed")).permanent
    assert not classify(aiosmtplib.SMTPResponseException(421, "try later")).permanent
    assert not classify(aiosmtplib.SMTPServerDisconnected("gone")).permanent
    assert not classify(ConnectionRefusedError()).permanent and not classify(TimeoutError()).permanent


def test_twilio_signature_matches_the_documented_example_and_errors_are_classified() -> None:
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030",
              "To": "+18005551212"}
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid_signature("12345", url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_signature("12345", url, {**params, "Digits": "0"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid_signature("12345", url, params, None)
    assert sms_classify(400, {"code": 21211, "message": "invalid To"}).permanent
    assert sms_classify(400, {"code": 21602}).permanent
    for status in (429, 500, 503, 401):
        assert not sms_classify(status, {}).permanent
