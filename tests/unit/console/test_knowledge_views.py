"""The knowledge base's view logic in the console (issue 23): the article and news forms read into the gateway's
bodies with each error next to its field, the workflow buttons offered by status and role, what "insert into reply"
puts in the reply, the service catalogue as choices, and the pages against a gateway answered in-process."""

from __future__ import annotations

import json
from typing import Any

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.views.kb import (
    article_body,
    article_fields,
    catalogue_options,
    chosen_service,
    field_errors,
    insert_text,
    news_body,
    steps,
)

ARTICLE: dict[str, Any] = {
    "id": "A-1", "status": "published", "version": 3, "visibility": "public", "client_categories": [],
    "categories": ["net"], "tags": ["router", "wifi"],
    "content": {"en": {"title": "Restart the router", "body": "Hold **reset** for 10 s."},
                "ru": {"title": "Перезагрузите роутер", "body": "Удерживайте **reset** 10 с."}},
    "rendered": {"en": {"title": "Restart the router", "html": "<p>Hold <strong>reset</strong> for 10 s.</p>"},
                 "ru": {"title": "Перезагрузите роутер", "html": "<p>Удерживайте <strong>reset</strong> 10 с.</p>"}},
    "created_at": "2026-03-01T09:00:00Z", "created_by": "root", "updated_at": "2026-03-02T09:00:00Z",
    "updated_by": "root", "published_at": "2026-03-02T09:00:00Z", "views": 4, "helpful": 2, "not_helpful": 1,
    "my_vote": None}
CATALOGUE = {"items": [{"id": "net", "name": {"en": "Internet", "ru": "Интернет"}, "description": {},
                        "sub_services": [{"id": "net-down", "name": {"en": "No connection", "ru": "Нет связи"},
                                          "description": {}, "sub_services": []}]}]}


def test_the_article_form_becomes_the_gateways_body_and_bad_fields_are_named() -> None:
    body, errors = article_body({"title_en": " Restart the router ", "body_en": "Hold reset.", "title_ru": "",
                                 "body_ru": "", "visibility": "public", "categories": "net, net-down net",
                                 "tags": "Router,wifi", "client_categories": ""})
    assert errors == {}
    assert body == {"content": {"en": {"title": "Restart the router", "body": "Hold reset."}}, "visibility": "public",
                    "client_categories": [], "categories": ["net", "net-down"], "tags": ["Router", "wifi"]}
    _, errors = article_body({"body_ru": "text without a title", "visibility": "everyone"})
    assert errors == {"title_en": "kb.form.title_needed", "title_ru": "kb.form.title_needed",
                      "visibility": "kb.form.bad_visibility"}
    _, errors = article_body({"title_en": "x", "visibility": "categories"})
    assert errors == {"client_categories": "kb.form.categories_needed"}
    assert article_fields(ARTICLE)["tags"] == "router, wifi" and article_fields(ARTICLE)["title_ru"].startswith("Пере")


def test_the_gateways_refusals_land_next_to_their_fields() -> None:
    errors = field_errors([{"loc": ["body", "content", "ru", "title"], "msg": "too long"},
                           {"loc": ["body", "tags"], "msg": "at most 50"}, {"loc": [], "msg": "whole"}])
    assert errors == {"title_ru": "too long", "tags": "at most 50"}


def test_workflow_buttons_follow_the_status_and_the_role() -> None:
    assert steps("draft", "administrator") == ["submit", "archive"]
    assert steps("draft", "team_lead") == ["archive"]
    assert steps("review", "team_lead") == ["publish", "reject", "archive"]
    assert steps("archived", "administrator") == ["restore"] and steps("archived", "team_lead") == []
    assert steps("published", "specialist") == [] and steps("nonsense", "administrator") == []


def test_insert_puts_a_portal_link_or_the_text_in_the_tickets_language() -> None:
    link = insert_text(ARTICLE, "link", "ru", "https://desk.example/")
    assert link == "Перезагрузите роутер: https://desk.example/portal/kb/A-1"
    assert insert_text(ARTICLE, "text", "en", "x") == "Restart the router\n\nHold **reset** for 10 s."
    only_en = {**ARTICLE, "content": {"en": ARTICLE["content"]["en"]}}
    assert insert_text(only_en, "text", "ru", "x").startswith("Restart the router")


def test_the_catalogue_is_offered_as_service_and_sub_service_choices() -> None:
    assert catalogue_options(CATALOGUE, "ru") == [("net", "Интернет"), ("net/net-down", "Интернет → Нет связи")]
    assert chosen_service("net/net-down") == {"service_id": "net", "sub_service_id": "net-down"}
    assert chosen_service("net") == {"service_id": "net"} and chosen_service("") == {}
    assert catalogue_options({"unexpected": 1}, "en") == []


def test_the_news_form_needs_a_title_and_an_ordered_window() -> None:
    body, errors = news_body({"title_en": "Maintenance", "body_en": "Sunday night", "audience": "clients",
                              "publish_at": "2026-03-01T10:00", "unpublish_at": "2026-03-02T10:00"})
    assert errors == {} and body["publish_at"] == "2026-03-01T10:00:00+00:00"
    assert body["unpublish_at"] == "2026-03-02T10:00:00+00:00" and body["audience"] == "clients"
    _, errors = news_body({"title_en": "x", "audience": "clients", "publish_at": "2026-03-02T10:00",
                           "unpublish_at": "2026-03-01T10:00"})
    assert errors == {"unpublish_at": "news.form.window"}
    _, errors = news_body({"audience": "all", "publish_at": "soon"})
    assert set(errors) == {"title_en", "audience", "publish_at"}


def _console(routes: dict[str, Any], seen: list[httpx.Request]) -> TestClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        found = routes.get(f"{request.method} {request.url.path}")
        if found is None:
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return found if isinstance(found, httpx.Response) else httpx.Response(200, json=found)
    return TestClient(create_app(ConsoleSettings(public_url="https://desk.example"),
                                 transport=httpx.MockTransport(handle)))


def test_the_article_page_shows_the_rendered_body_and_counts_the_view() -> None:
    seen: list[httpx.Request] = []
    api = "/api/v1/knowledge/articles/A-1"
    with _console({f"GET {api}": ARTICLE, f"POST {api}/views": {"counted": True},
                   f"GET {api}/versions": {"items": []}}, seen) as client:
        signed_in(client, "specialist")
        page = client.get("/kb/articles/A-1", headers=HTML)
        assert page.status_code == 200 and "<strong>reset</strong>" in page.text
        assert f"POST {api}/views" in [f"{r.method} {r.url.path}" for r in seen]
        assert f"GET {api}/versions" not in [f"{r.method} {r.url.path}" for r in seen]  # leads' only
        assert client.get("/kb/articles/..%2Fx", headers=HTML).status_code == 404


def test_insert_into_reply_records_the_link_and_answers_the_text() -> None:
    seen: list[httpx.Request] = []
    with _console({"GET /api/v1/knowledge/articles/A-1": ARTICLE, "GET /api/v1/tickets/T-1": {"id": "T-1",
                   "language": "en"}, "POST /api/v1/tickets/T-1/articles/A-1": {"counted": True}}, seen) as client:
        csrf = signed_in(client, "specialist")
        done = client.post("/tickets/T-1/articles/A-1", data={"mode": "link"},
                           headers={"X-CSRF-Token": csrf, "X-Requested-With": "fetch"})
        assert done.status_code == 200, done.text
        assert done.json() == {"text": "Restart the router: https://desk.example/portal/kb/A-1"}
        assert "POST /api/v1/tickets/T-1/articles/A-1" in [f"{r.method} {r.url.path}" for r in seen]


def test_the_editor_sends_the_article_and_shows_refusals_beside_the_fields() -> None:
    seen: list[httpx.Request] = []
    refused = httpx.Response(422, json={"title": "Unprocessable Content", "status": 422, "errors": [
        {"loc": ["body", "content", "en", "title"], "msg": "String should have at most 300 characters"}]})
    with _console({"POST /api/v1/knowledge/articles": refused, "GET /api/v1/portal/catalogue": CATALOGUE},
                  seen) as client:
        csrf = signed_in(client, "administrator", "root")
        page = client.post("/kb/new", data={"csrf_token": csrf, "title_en": "x" * 301, "visibility": "public"},
                           headers=HTML)
        assert page.status_code == 422 and 'id="title_en-error"' in page.text and "at most 300" in page.text
        sent = json.loads(next(r for r in seen if r.method == "POST").content)
        assert sent["content"]["en"]["title"] == "x" * 301
        signed_in(client, "specialist")
        assert client.get("/kb/new", headers=HTML).status_code == 403
