"""The daily tools' view logic (issue 22, W4): tags, custom fields, merge, split, macros and search in the console,
as pure functions and as pages against a gateway answered in-process (the integration tests use the real desk)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient
from starlette.datastructures import FormData

from services.console.app import create_app
from services.console.gateway import GatewayProblem
from services.console.settings import ConsoleSettings
from services.console.views import tools as tv
from services.console.views.macro_forms import applied, macro_body, macro_errors
from services.console.views.search import hits, pieces, query
from services.console.views.ticket import thread

FIELDS = [{"id": "product", "label": {"en": "Product", "ru": "Продукт"}, "kind": "select", "level": "ticket",
           "required": True, "options": [{"value": "internet", "label": {"en": "Internet", "ru": "Интернет"}},
                                         {"value": "tv", "label": {"en": "TV"}}]},
          {"id": "devices", "label": {"en": "Devices"}, "kind": "number", "level": "ticket"},
          {"id": "modules", "kind": "multiselect", "options": [{"value": "a"}, {"value": "b"}]},
          {"id": "since", "kind": "date", "ticket_types": ["incident"]},
          {"id": "tier", "kind": "text", "level": "client"}]
RECEIVED = {"id": "e2", "type": "MessageReceived", "occurred_at": "2026-03-02T09:00:00Z", "payload": {"content": {
    "message_id": "m-1", "text": "No internet", "sender": {"email": "anna@client.example"}}}}
TICKET = {"id": "T-1", "number": 7, "version": 4, "status": "in_progress", "channel": "email", "subject": "Down",
          "client": {"client_id": "C-1", "client_name": "Vector"}, "unidentified": False, "assignee_id": "ann",
          "line": "first", "offered_to": [], "flags": {}, "children": [], "tags": ["vip", "<b>x</b>"],
          "custom_fields": {"product": "tv", "devices": 2}, "ticket_type": "complaint", "merged_from": ["T-0"],
          "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:11:00Z", "history": [RECEIVED]}
XSS = '<script>alert(1)</script>'


def form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


def test_the_fields_form_follows_the_definitions_of_the_tickets_type() -> None:
    inputs = {f.id: f for f in tv.field_inputs(FIELDS, TICKET["custom_fields"], "ru", "complaint")}
    assert list(inputs) == ["product", "devices", "modules"]  # "since" is for incidents, "tier" a client field
    product = inputs["product"]
    assert product.label == "Продукт" and product.required and product.kind == "select"
    assert [(o.value, o.label, o.selected) for o in product.options] == [("internet", "Интернет", False),
                                                                          ("tv", "TV", True)]
    assert inputs["devices"].input_type == "number" and inputs["devices"].value == "2"
    assert "since" in {f.id for f in tv.field_inputs(FIELDS, {}, "en", "incident")}


def test_only_changed_fields_are_sent_a_blank_clears_and_a_non_number_goes_as_typed() -> None:
    sent = form(("product", "internet"), ("devices", "2"), ("modules", "a"), ("modules", "b"))
    assert tv.parse_fields(sent, FIELDS, TICKET["custom_fields"], "complaint") == (
        {"values": {"product": "internet", "modules": ["a", "b"]}}, {})
    assert tv.parse_fields(form(("product", "tv"), ("devices", "")), FIELDS, TICKET["custom_fields"])[0] == {
        "values": {"devices": None}}
    assert tv.parse_fields(form(("product", "tv"), ("devices", "three")), FIELDS, TICKET["custom_fields"])[0] == {
        "values": {"devices": "three"}}  # the ledger says why, next to the field
    assert tv.parse_fields(form(("product", "tv"), ("devices", "2")), FIELDS, TICKET["custom_fields"]) == (
        None, {"fields": "tools.form.unchanged"})


def test_the_ledgers_refusal_is_split_next_to_each_field() -> None:
    detail = "devices takes a number, not 'three'; product must be one of internet, tv; 'x' is not in the list; " \
             "there is no custom field 'colour'"
    errors = tv.field_errors(detail, ["product", "devices"])
    assert errors["devices"] == "devices takes a number, not 'three'"
    assert errors["product"].startswith("product must be one of internet, tv")
    assert "colour" in errors["fields"]


def test_tags_merge_and_split_bodies() -> None:
    assert tv.tags_body(form(("add", "VIP, outage;  billing"), ("remove", "old"))) == (
        {"add": ["vip", "outage", "billing"], "remove": ["old"]}, {})
    assert tv.tags_body(form(("add", " "))) == (None, {"add": "tools.form.required"})
    assert tv.tag_param(" VIP ") == {"tag": "vip"} and tv.tag_param("") == {} and tv.tag_param(None) == {}
    known = {12: "T-12"}
    assert tv.merge_target("#12", known) == "T-12" and tv.merge_target("12", known) == "T-12"
    assert tv.merge_target("#13", known) is None and tv.merge_target(" T-9 ", known) == "T-9"
    body, _ = tv.merge_body(form(("target", "#12"), ("reason", "dup"), ("confirm_cross_client", "yes")), "T-12", False)
    assert body == {"target_id": "T-12", "reason": "dup", "confirm_cross_client": False}  # only leads confirm
    assert tv.merge_body(form(("target", "#12"), ("confirm_cross_client", "yes")), "T-12", True)[0] == {
        "target_id": "T-12", "reason": None, "confirm_cross_client": True}
    assert tv.merge_body(form(("target", "#99")), None, True) == (None, {"target": "tools.merge.unknown_number"})
    assert tv.split_body(form(("subject", "x"))) == (None, {"message_ids": "tools.split.choose"})
    assert tv.split_body(form(("message_ids", "m-1"), ("subject", " "))) == (
        {"message_ids": ["m-1"], "subject": None}, {})


def test_refusals_of_merge_and_split_are_words_in_both_languages() -> None:
    cross = GatewayProblem(409, "Merge across clients", "not the same client", code="cross_client")
    assert "only a team lead" in tv.tools_refusal(cross, "en") and "руководитель" in tv.tools_refusal(cross, "ru")
    assert "moon" in tv.tools_refusal(GatewayProblem(409, "Command rejected", "moon", code="lunar"), "en")


def test_a_merged_tickets_messages_show_in_the_targets_thread() -> None:
    absorbed = {"id": "e9", "type": "TicketAbsorbed", "occurred_at": "2026-03-02T10:00:00Z", "payload": {
        "kind": "merge", "from_ticket_id": "T-0", "from_number": 6, "by": "ann",
        "messages": [{"message_id": "m-0", "text": "Phone: still down", "sender": {"phone": "+100"},
                      "received_at": "2026-03-02T08:00:00Z"}],
        "replies": [{"event_id": "e0", "at": "2026-03-02T08:30:00Z", "agent_id": "bob", "text": "Looking"}]}}
    items = thread("T-1", [absorbed])
    assert [(i.kind, i.text, i.author) for i in items] == [("client", "Phone: still down", "+100"),
                                                           ("reply", "Looking", "bob")]


def test_a_macro_form_becomes_the_gateways_macro_and_its_errors_go_next_to_their_fields() -> None:
    sent = form(("name", "Logs"), ("scope", "shared"), ("reply_en", "Hi {{ contact_name }}"), ("reply_ru", ""),
                ("add_tags", "waiting-logs"), ("hold", "yes"), ("hold_reason", "logs"), ("line_ids", "first, second"))
    body, errors = macro_body(sent, admin=False)
    assert errors == {} and body == {"name": "Logs", "scope": "personal", "reply": {"en": "Hi {{ contact_name }}"},
                                     "actions": {"add_tags": ["waiting-logs"], "remove_tags": [],
                                                 "hold": {"reason": "logs"}}}  # only administrators share
    shared, _ = macro_body(sent, admin=True)
    assert shared and shared["scope"] == "shared" and shared["line_ids"] == ["first", "second"]
    assert macro_body(form(("name", "")), admin=True) == (None, {"name": "tools.form.required"})
    exc = GatewayProblem(422, "Unprocessable", errors=[
        {"loc": ["body", "reply", "en"], "msg": "Value error, unknown variable nme"},
        {"loc": ["body", "actions", "add_tags", 0], "msg": "bad tag"}, {"loc": ["body"], "msg": "does nothing"}])
    assert macro_errors(exc) == {"reply_en": "unknown variable nme", "add_tags": "bad tag", "form": "does nothing"}
    assert applied("reply.done,tags.rejected,evil.done,hold.<b>") == [("reply", "done"), ("tags", "rejected")]


def test_search_fragments_show_only_our_marks_and_everything_else_as_text() -> None:
    assert pieces("a &lt;b&gt; <mark>word</mark> end") == [("a <b> ", False), ("word", True), (" end", False)]
    assert pieces(f"{XSS}<mark><img src=x onerror=alert(1)></mark>") == [
        (XSS, False), ("<img src=x onerror=alert(1)>", True)]
    params, kept = query({"q": " router ", "tag": "vip", "created_to": "2026-03-02", "created_from": "junk"},
                         ["resolved", "nonsense"], staff=True)
    assert params == {"q": "router", "limit": 50, "status": ["resolved"], "tag": "vip",
                      "created_to": "2026-03-03T00:00:00Z"}
    assert kept["created_from"] == "junk"
    client_params, _ = query({"q": "router", "tag": "vip", "line": "first"}, [], staff=False)
    assert client_params == {"q": "router", "limit": 50}  # staff filters are not a client's
    assert query({"q": ""}, [], staff=True)[0] is None
    page = {"items": [{"id": "T-1", "number": 7, "status": "new", "highlights": [
        {"field": "notes", "html": "<mark>secret</mark>"}, {"field": "text", "html": "x"}]}, {"id": "../admin"}]}
    assert [h.url for h in hits(page, staff=True)] == ["/tickets/T-1"]
    assert hits(page, staff=False)[0].url == "/portal/tickets/T-1"
    assert [f for f, _ in hits(page, staff=False)[0].fragments] == ["text"]  # never a note for a client


def gateway(posted: list[tuple[str, Any]], answers: dict[str, httpx.Response] | None = None) -> TestClient:
    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        if request.method in ("POST", "PUT"):
            posted.append((key, json.loads(request.content or b"null")))
        if answers and key in answers:
            return answers[key]
        if key == "GET /api/v1/tickets/T-1":
            return httpx.Response(200, json=TICKET)
        if key == "GET /api/v1/custom-fields":
            return httpx.Response(200, json=FIELDS)
        if key == "GET /api/v1/macros":
            return httpx.Response(200, json=[{"id": "M-1", "name": "Logs", "scope": "shared"}])
        if key.startswith("GET /api/v1/queues/"):
            posted.append((key, parse_qs(request.url.query.decode())))
            return httpx.Response(200, json={"items": []})
        if request.method == "POST":
            return httpx.Response(200, json=TICKET)
        return httpx.Response(404, json={"title": "Not Found", "status": 404, "detail": request.url.path})
    return TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(handle)))


def test_the_ticket_page_shows_tags_fields_links_macros_and_the_confirm_box_only_to_leads() -> None:
    with gateway([]) as c:
        signed_in(c)
        html = c.get("/tickets/T-1", headers=HTML).text
        assert 'action="/tickets/T-1/tags"' in html and 'value="vip"' in html and "&lt;b&gt;x&lt;/b&gt;" in html
        assert 'action="/tickets/T-1/fields"' in html and '<option value="tv" selected>TV</option>' in html
        assert 'href="/tickets/T-0"' in html and 'action="/tickets/T-1/macro"' in html
        assert 'name="message_ids" value="m-1"' in html and 'action="/tickets/T-1/merge"' in html
        assert "confirm_cross_client" not in html and "<b>x</b>" not in html
        signed_in(c, "team_lead", "lea")
        assert "confirm_cross_client" in c.get("/tickets/T-1", headers=HTML).text


def test_a_refused_field_is_shown_next_to_it_and_a_done_tag_returns_to_the_ticket() -> None:
    refused = httpx.Response(422, json={"title": "Invalid custom field values", "status": 422,
                                        "detail": "devices takes a number, not 'three'",
                                        "code": "invalid_custom_field"})
    posted: list[tuple[str, Any]] = []
    with gateway(posted, {"POST /api/v1/tickets/T-1/fields": refused}) as c:
        csrf = signed_in(c)
        page = c.post("/tickets/T-1/fields", data={"csrf_token": csrf, "product": "tv", "devices": "three"},
                      headers=HTML)
        assert page.status_code == 422
        assert '<span class="field-error" id="fields-devices-error">devices takes a number' in page.text
        assert 'aria-describedby="fields-devices-error"' in page.text and 'value="three"' in page.text
        done = c.post("/tickets/T-1/tags", data={"csrf_token": csrf, "add": "Outage"}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/tickets/T-1?tool=tags"
        assert ("POST /api/v1/tickets/T-1/tags", {"add": ["outage"], "remove": []}) in posted


def test_the_queue_keeps_its_tag_filter_in_the_live_rows() -> None:
    posted: list[tuple[str, Any]] = []
    with gateway(posted) as c:
        signed_in(c)
        html = c.get("/queues/mine", params={"tag": "VIP"}, headers=HTML).text
        assert 'data-live-src="/queues/mine/rows?tag=vip"' in html and 'name="tag"' in html
        c.get("/queues/mine/rows", params={"tag": "vip"}, headers=HTML)
        asked = [q for k, q in posted if k == "GET /api/v1/queues/mine"]
        assert asked and all(q.get("tag") == ["vip"] for q in asked)
