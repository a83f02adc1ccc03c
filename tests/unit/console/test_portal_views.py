"""The client portal's view logic: requests open first, the conversation a client may read (never a note), the
survey's choices, and the portal's pages and forms against a gateway answered in-process."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.views.portal import conversation, may_write, requests, survey

LINK_TOKEN = "A" * 43
HISTORY = [
    {"type": "TicketOpened", "causation_id": "c1", "occurred_at": "2026-03-02T09:00:00Z",
     "payload": {"text": "The line is down", "sender": {"name": "Petra"}}},
    {"type": "MessageReceived", "causation_id": "c1", "occurred_at": "2026-03-02T09:00:00Z",
     "payload": {"content": {"text": "The line is down", "sender": {"name": "Petra"},
                             "attachments": [{"id": "f1", "filename": "photo.png", "size": 10},
                                             {"id": "../../admin", "filename": "evil", "size": 1}]}}},
    {"type": "NoteAdded", "occurred_at": "2026-03-02T09:05:00Z",
     "payload": {"text": "SECRET internal note", "author_id": "ann"}},
    {"type": "CommandRejected", "payload": {"reason": "already_claimed"}},
    {"type": "ReplySent", "occurred_at": "2026-03-02T09:10:00Z",
     "payload": {"text": "We restarted your router", "agent_id": "ann",
                 "attachments": [{"id": "f2", "filename": "report.pdf", "size": 99}]}},
]
SURVEY_URL = "http://feedback.example/s/tok"


def test_requests_are_split_open_first_each_newest_first() -> None:
    page = {"items": [{"id": "T-1", "status": "resolved", "updated_at": "2026-03-03T00:00:00Z"},
                      {"id": "T-2", "status": "in_progress", "updated_at": "2026-03-01T00:00:00Z"},
                      {"id": "T-3", "status": "offered", "updated_at": "2026-03-02T00:00:00Z"},
                      {"id": "../x", "status": "new"}, "junk"]}
    open_rows, finished = requests(page)
    assert [r.id for r in open_rows] == ["T-3", "T-2"] and [r.id for r in finished] == ["T-1"]
    assert requests({"detail": "no items"}) == ([], [])


def test_the_conversation_shows_messages_and_replies_never_a_note() -> None:
    entries = conversation("T-1", HISTORY)
    assert [(e.mine, e.text) for e in entries] == [(True, "The line is down"), (False, "We restarted your router")]
    assert entries[1].author == ""  # support replies do not name the agent's internal id
    assert [f.url for f in entries[0].files] == ["/portal/tickets/T-1/attachments/f1"]  # the hostile id is dropped
    assert [f.url for f in entries[1].files] == ["/portal/tickets/T-1/attachments/f2"]
    opened_only = [HISTORY[0] | {"causation_id": "c0"}]
    assert [e.text for e in conversation("T-1", opened_only)] == ["The line is down"]
    assert conversation("T-1", None) == []


def test_the_survey_offers_its_three_answers_only_while_pending_and_only_as_web_links() -> None:
    pending = survey({"state": "pending", "url": SURVEY_URL})
    assert pending.choices == ((("good", f"{SURVEY_URL}/good")), ("bad", f"{SURVEY_URL}/bad"),
                               ("not_mine", f"{SURVEY_URL}/not_mine"))
    assert survey({"state": "answered", "url": SURVEY_URL}).choices == ()
    for hostile in ("javascript:alert(1)", "/portal/../admin", "//evil.example/s", "http://a b"):
        assert survey({"state": "pending", "url": hostile}) == survey({"state": "pending", "url": None})
        assert survey({"state": "pending", "url": hostile}).choices == ()
    assert survey(None).state == "none" and survey({"state": "weird"}).state == "none"


def test_a_client_writes_into_anything_but_a_completed_or_closed_request() -> None:
    assert may_write("in_progress") and may_write("resolved") and may_write("new")
    assert not may_write("completed") and not may_write("closed")


class Gateway:
    """The gateway answered in-process; every request it got is kept, to check what the console sent."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes, self.seen = routes, []  # type: ignore[var-annotated]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        found = self.routes.get(f"{request.method} {request.url.path}")
        if found is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": "no ticket"})
        return found if isinstance(found, httpx.Response) else httpx.Response(200, json=found)

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.method == method and r.url.path == f"/api/v1{path}"]


def portal(routes: dict[str, Any]) -> tuple[TestClient, Gateway]:
    gateway = Gateway(routes)
    return TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))), gateway


TICKET = {"id": "T-1", "number": 7, "subject": "No internet", "status": "resolved", "history": HISTORY,
          "survey": {"state": "pending", "url": SURVEY_URL}}


def test_the_ticket_page_shows_replies_files_and_the_survey_never_the_note() -> None:
    c, _ = portal({"GET /api/v1/tickets/T-1": TICKET})
    with c:
        signed_in(c, "client", "P-1", client_id="C-1")
        page = c.get("/portal/tickets/T-1", headers=HTML)
    assert page.status_code == 200, page.text
    assert "We restarted your router" in page.text and "SECRET" not in page.text
    assert 'href="/portal/tickets/T-1/attachments/f2"' in page.text
    assert f'href="{SURVEY_URL}/good"' in page.text and "The work was good" in page.text
    assert "Writing reopens the resolved request." in page.text and 'action="/portal/tickets/T-1/messages"' in page.text


def test_the_list_puts_open_requests_first_and_staff_are_sent_away() -> None:
    items = [{"id": "T-9", "number": 9, "subject": "Old one", "status": "closed", "updated_at": "2026-03-09"},
             {"id": "T-8", "number": 8, "subject": "Still open", "status": "in_progress", "updated_at": "2026-03-01"}]
    c, gateway = portal({"GET /api/v1/tickets": {"items": items, "limit": 100}})
    with c:
        signed_in(c, "client", "P-1", client_id="C-1")
        page = c.get("/portal", headers=HTML).text
        assert page.index("Still open") < page.index("Old one") < page.index("Finished requests") or \
            page.index("Still open") < page.index("Finished requests") < page.index("Old one")
        signed_in(c, "specialist", "ann")
        refused = c.get("/portal", headers=HTML)
    assert refused.status_code == 403 and "The portal is for clients" in refused.text
    assert len(gateway.sent("GET", "/tickets")) == 1  # the staff session never reached the gateway


def test_a_message_uploads_its_files_then_writes_once_with_an_idempotency_key() -> None:
    c, gateway = portal({"POST /api/v1/tickets/T-1/attachments": {"id": "f9", "filename": "a.txt", "size": 2},
                         "POST /api/v1/portal/tickets/T-1/messages": TICKET, "GET /api/v1/tickets/T-1": TICKET})
    with c:
        csrf = signed_in(c, "client", "P-1", client_id="C-1")
        done = c.post("/portal/tickets/T-1/messages", data={"csrf_token": csrf, "text": "Still broken", "key": "k1"},
                      files={"files": ("a.txt", b"hi", "text/plain")}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/portal/tickets/T-1?sent=1"
        empty = c.post("/portal/tickets/T-1/messages", data={"csrf_token": csrf, "text": "  "}, headers=HTML)
        forged = c.post("/portal/tickets/T-1/messages", data={"csrf_token": "x", "text": "hi"}, headers=HTML)
    written = gateway.sent("POST", "/portal/tickets/T-1/messages")
    assert len(written) == 1 and json.loads(written[0].content) == {"text": "Still broken", "attachment_ids": ["f9"]}
    assert written[0].headers["idempotency-key"] == "console:k1"
    assert empty.status_code == 422 and 'id="text-error"' in empty.text and "Please fill this in." in empty.text
    assert forged.status_code == 403


def test_a_new_request_shows_the_gateways_field_errors_next_to_the_field() -> None:
    refusal = httpx.Response(422, json={"title": "Unprocessable", "status": 422, "errors": [
        {"loc": ["body", "subject"], "msg": "String should have at most 1000 characters"}]})
    c, _ = portal({"POST /api/v1/portal/tickets": refusal})
    with c:
        csrf = signed_in(c, "client", "P-1", client_id="C-1")
        page = c.post("/portal/new", data={"csrf_token": csrf, "subject": "x" * 1001, "text": "t"}, headers=HTML)
    assert page.status_code == 422
    error = re.search(r'<p class="field-error" id="subject-error">([^<]*)</p>', page.text)
    assert error and error.group(1) == "String should have at most 1000 characters"
    assert 'aria-describedby="subject-error"' in page.text


def _form_token(page: httpx.Response) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_asking_for_a_link_says_check_your_mail_and_forwards_the_browsers_address() -> None:
    c, gateway = portal({"POST /api/v1/portal/sign-in-links": httpx.Response(202, json={"status": "accepted"})})
    with c:
        token = _form_token(c.get("/portal/sign-in", headers=HTML | {"accept-language": "ru"}))
        page = c.post("/portal/sign-in", data={"email": "anna@c1.example", "form_token": token},
                      headers=HTML | {"accept-language": "ru"})
        bad = c.post("/portal/sign-in", data={"email": "not an address", "form_token": token}, headers=HTML)
    assert page.status_code == 200 and "Проверьте почту" in page.text
    asked = gateway.sent("POST", "/portal/sign-in-links")
    assert len(asked) == 1 and json.loads(asked[0].content) == {"email": "anna@c1.example", "language": "ru"}
    assert asked[0].headers["x-forwarded-for"] == "testclient" and "authorization" not in asked[0].headers
    assert bad.status_code == 422 and 'id="email-error"' in bad.text


def test_too_many_links_is_said_in_words() -> None:
    c, _ = portal({"POST /api/v1/portal/sign-in-links": httpx.Response(
        429, headers={"Retry-After": "125"}, json={"title": "Too Many Requests", "status": 429})})
    with c:
        token = _form_token(c.get("/portal/sign-in", headers=HTML))
        page = c.post("/portal/sign-in", data={"email": "anna@c1.example", "form_token": token}, headers=HTML)
    assert page.status_code == 429 and "Try again in 3 min." in page.text


def test_the_link_page_only_shows_a_button_and_the_post_redeems() -> None:
    redeemed = {"access_token": "client-token", "token_type": "bearer", "expires_at": "2026-03-02T17:00:00Z"}
    me = {"user_id": "P-1", "role": "client", "name": "Petra", "client_id": "C-1"}
    c, gateway = portal({"POST /api/v1/portal/sign-in-links/redeem": redeemed, "GET /api/v1/me": me})
    with c:
        assert c.get("/portal/link?token=short", headers=HTML).status_code == 400
        page = c.get(f"/portal/link?token={LINK_TOKEN}", headers=HTML)
        assert page.status_code == 200 and 'action="/portal/link"' in page.text
        assert gateway.seen == []  # a mail scanner fetching the link spends nothing
        done = c.post("/portal/link", data={"token": LINK_TOKEN, "form_token": _form_token(page)},
                      follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/portal"
    assert "fl_session=" in done.headers.get("set-cookie", "")
    assert json.loads(gateway.sent("POST", "/portal/sign-in-links/redeem")[0].content) == {"token": LINK_TOKEN}
    assert gateway.sent("GET", "/me")[0].headers["authorization"] == "Bearer client-token"


def test_a_new_request_and_a_message_may_carry_files_larger_than_a_plain_form() -> None:
    stored = {"id": "f1", "filename": "scan.pdf", "size": 1_500_000}
    c, gateway = portal({"POST /api/v1/portal/attachments": stored, "POST /api/v1/tickets/T-1/attachments": stored,
                         "POST /api/v1/portal/tickets": {"command_id": "c", "ticket_id": "P-1", "status": "pending"},
                         "POST /api/v1/portal/tickets/T-1/messages": TICKET})
    scan = ("scan.pdf", b"%PDF-" + b"0" * 1_500_000, "application/pdf")
    with c:
        csrf = signed_in(c, "client", "P-1", client_id="C-1")
        opened = c.post("/portal/new", data={"csrf_token": csrf, "subject": "Scan", "text": "see the scan"},
                        files={"files": scan}, follow_redirects=False)
        wrote = c.post("/portal/tickets/T-1/messages", data={"csrf_token": csrf, "text": "another scan"},
                       files={"files": scan}, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/portal/tickets/P-1?pending=1"
    assert wrote.status_code == 303
    assert len(gateway.sent("POST", "/portal/attachments")) == 1
    assert len(gateway.sent("POST", "/tickets/T-1/attachments")) == 1
