"""The ticket page's view logic: the thread from the history, which actions a ticket shows to whom, refusals in
words, SLA rows, the forms' bodies, and the page and its POSTs against a gateway answered in-process."""

from __future__ import annotations

import json
from typing import Any

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.gateway import GatewayProblem
from services.console.settings import ConsoleSettings
from services.console.views.ticket import actions, refusal, safe_id, sla_rows, thread
from services.console.views.ticket_forms import build

OPENED = {"id": "e1", "type": "TicketOpened", "causation_id": "c1", "occurred_at": "2026-03-02T09:00:00Z",
          "actor": "intake", "payload": {"text": "No internet", "sender": {"email": "anna@client.example"}}}
RECEIVED = {"id": "e2", "type": "MessageReceived", "causation_id": "c1", "occurred_at": "2026-03-02T09:00:00Z",
            "actor": "intake", "payload": {"content": {
                "text": "No internet", "sender": {"email": "anna@client.example"},
                "attachments": [{"id": "f1", "filename": "photo.png", "content_type": "image/png", "size": 10}]}}}
REPLY = {"id": "e3", "type": "ReplySent", "causation_id": "c2", "occurred_at": "2026-03-02T09:10:00Z", "actor": "ann",
         "payload": {"agent_id": "ann", "text": "Restarted", "attachments": []}}
NOTE = {"id": "e4", "type": "NoteAdded", "causation_id": "c3", "occurred_at": "2026-03-02T09:11:00Z", "actor": "ann",
        "payload": {"author_id": "ann", "text": "client is rude", "attachments": [
            {"id": "f2", "filename": "log.txt", "content_type": "text/plain", "size": 3}]}}
TICKET = {"id": "T-1", "number": 7, "version": 4, "status": "in_progress", "channel": "email", "subject": "Down",
          "sender": {"email": "anna@client.example"}, "client": {"client_id": "C-1", "client_name": "Vector"},
          "unidentified": False, "assignee_id": "ann", "line": "first", "offered_to": [],
          "flags": {}, "children": [], "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:11:00Z",
          "status_changed_at": "2026-03-02T09:10:00Z", "history": [OPENED, RECEIVED, REPLY, NOTE]}


def test_the_thread_has_client_messages_replies_and_notes_each_once_with_their_files() -> None:
    items = thread("T-1", TICKET["history"])
    assert [i.kind for i in items] == ["client", "reply", "note"]  # the opening's text is the message, once
    assert items[0].author == "anna@client.example" and items[0].text == "No internet"
    assert [(f.name, f.url) for f in items[0].files] == [("photo.png", "/tickets/T-1/attachments/f1")]
    assert items[2].kind == "note" and items[2].files[0].name == "log.txt"
    # a ticket opened without a message (an agent's or the portal's) shows its opening text
    assert [i.text for i in thread("T-2", [{**OPENED, "causation_id": "c9"}])] == ["No internet"]


def test_only_the_actions_that_apply_to_the_status_and_the_person_are_shown() -> None:
    offered = {**TICKET, "status": "offered", "assignee_id": None, "offered_to": ["ann", "bob"]}
    assert "claim" in actions(offered, "ann", "specialist") and "claim" not in actions(offered, "carol", "specialist")
    assert not {"reply", "resolve", "start"} & actions(offered, "ann", "specialist")
    assigned = {**TICKET, "status": "assigned"}
    assert {"start", "reply", "resolve"} <= actions(assigned, "ann", "specialist")
    assert "start" not in actions(assigned, "bob", "specialist")
    working = actions(TICKET, "ann", "specialist")
    assert {"reply", "note", "hold", "resolve", "escalate", "subticket", "classify", "callback"} <= working
    assert not {"resume", "reopen", "claim", "link"} & working
    assert "resume" in actions({**TICKET, "status": "waiting_customer"}, "ann", "specialist")
    resolved = actions({**TICKET, "status": "resolved"}, "ann", "specialist")
    assert {"reopen", "close", "note"} <= resolved and not {"reply", "resolve", "hold"} & resolved
    assert "link" in actions({**TICKET, "unidentified": True, "client": None}, "ann", "specialist")
    assert "link" in actions({**TICKET, "client": {"client_id": "C-1"}}, "lea", "team_lead")  # leads re-link
    assert actions(TICKET, "P-1", "client") == frozenset()


def test_refusals_are_words_from_the_gateways_code() -> None:
    taken = GatewayProblem(409, "Command rejected", "ticket is assigned to bob", code="already_claimed")
    assert refusal(taken, "en") == "Someone else claimed it first."
    assert refusal(taken, "ru") == "Кто-то другой уже взял это обращение."
    late = GatewayProblem(409, "Command rejected", "window", code="reopen_window_passed")
    assert "reopen" in refusal(late, "en")
    odd = GatewayProblem(409, "Command rejected", "the moon is full", code="lunar")
    assert refusal(odd, "en") == "The desk refused: the moon is full"
    assert "not answering" in refusal(GatewayProblem(503, "Unavailable"), "en")


def test_sla_rows_count_down_while_running_and_freeze_while_paused() -> None:
    sla = {"policy_id": "p", "calendar_id": "c", "targets": {
        "first_response": {"running": False, "met": True, "warned": False, "breached": False},
        "resolution": {"running": True, "due_at": "2026-03-02T13:00:00Z", "warned": True, "breached": False},
        "take_into_work": {"running": False, "paused_seconds_left": 5400.0, "warned": False, "breached": True}}}
    rows = {r.name: r for r in sla_rows(sla)}
    assert rows["first_response"].state == "met"
    assert rows["resolution"].state == "running" and rows["resolution"].due_at == "2026-03-02T13:00:00Z"
    assert rows["resolution"].warned
    assert rows["take_into_work"].state == "paused" and rows["take_into_work"].frozen == "1h 30m"
    assert rows["take_into_work"].breached
    assert sla_rows(None) == []


def test_the_forms_build_the_gateways_bodies_and_say_which_field_is_missing() -> None:
    assert build("resolve", {"problem": " ", "solution": "fixed"}) == (None, {"problem": "ticket.form.required"})
    assert build("resolve", {"problem": "down", "solution": "fixed"}) == ({"problem": "down", "solution": "fixed"}, {})
    assert build("reply", {"text": ""})[1] == {"text": "ticket.form.required"}
    assert build("hold", {"reason": ""}) == ({"reason": None}, {})
    assert build("callback", {"answered": "yes", "comment": "ok"})[0] == {"answered": True, "comment": "ok",
                                                                           "phone": None}
    assert build("link", {"client_id": "C-1", "contract_number": ""})[0] == {"client": {"client_id": "C-1"},
                                                                              "reason": None}
    assert build("classify", {"topic": "internet", "type": "", "ticket_type": "complaint", "urgency": "urgent"})[0] \
        == {"classification": {"topic": "internet"}, "ticket_type": "complaint", "urgency": "urgent"}
    assert build("claim", {}) == (None, {})


def test_ids_that_could_walk_the_gateways_paths_are_refused() -> None:
    assert safe_id("T-1") and safe_id("P-0a1b2c3d4e5f") and safe_id("T-1-dev-ab12cd34")
    assert not any(safe_id(x) for x in ("..", ".", "", "a/b", "a?b", "x" * 300, "a b", "%2e%2e"))


def console(ticket: dict[str, Any], posted: list[tuple[str, Any]], answer: httpx.Response | None = None
            ) -> TestClient:
    """The console with a gateway that serves ``ticket`` and answers every action with ``answer`` (or the ticket)."""
    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST":
            posted.append((path, json.loads(request.content or b"null")))
            return answer or httpx.Response(200, json=ticket)
        if path == "/api/v1/tickets/T-1":
            return httpx.Response(200, json=ticket)
        if path == "/api/v1/tickets/T-1/client":
            return httpx.Response(200, json={"identified": False, "reason": "the sender is not matched"})
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": path})
    return TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(handle)))


def test_the_page_shows_the_thread_notes_marked_internal_and_only_the_applicable_forms() -> None:
    with console(TICKET, []) as c:
        csrf = signed_in(c)
        html = c.get("/tickets/T-1", headers=HTML).text
        assert "#7" in html and "Restarted" in html and "client is rude" in html
        assert 'class="msg note"' in html and "Internal note" in html
        assert 'href="/tickets/T-1/attachments/f1"' in html
        assert 'action="/tickets/T-1/resolve"' in html and 'action="/tickets/T-1/claim"' not in html
        assert "data-shortcut-reply" in html and "data-shortcut-note" in html
        assert f'name="csrf_token" value="{csrf}"' in html and 'data-live-src="/tickets/T-1/live"' in html
        assert "style=" not in html and "<script>" not in html


def test_a_refused_claim_is_shown_in_words_and_a_done_one_returns_to_the_ticket() -> None:
    offered = {**TICKET, "status": "offered", "assignee_id": None, "offered_to": ["ann"]}
    refused = httpx.Response(409, json={"title": "Command rejected", "status": 409, "detail": "ticket is assigned",
                                        "code": "already_claimed"})
    posted: list[tuple[str, Any]] = []
    with console(offered, posted, refused) as c:
        csrf = signed_in(c)
        page = c.post("/tickets/T-1/claim", data={"csrf_token": csrf}, headers=HTML)
        assert page.status_code == 409 and "Someone else claimed it first." in page.text
        fetched = c.post("/tickets/T-1/claim", headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch"})
        assert fetched.status_code == 409 and 'role="alert"' in fetched.text
    with console(offered, posted) as c:
        csrf = signed_in(c)
        done = c.post("/tickets/T-1/claim", data={"csrf_token": csrf}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/tickets/T-1?done=claim"
    with console(TICKET, posted) as c:
        csrf = signed_in(c)
        missing = c.post("/tickets/T-1/resolve", data={"csrf_token": csrf, "problem": "", "solution": "x"},
                         headers=HTML)
        assert missing.status_code == 422 and 'id="resolve-problem-error"' in missing.text
        assert [p for p, _ in posted].count("/api/v1/tickets/T-1/claim") == 3
        assert "/api/v1/tickets/T-1/resolve" not in [p for p, _ in posted]  # the blank form never left the console
