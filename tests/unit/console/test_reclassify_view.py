"""The reclassify chooser (issue 19): every node of the tree the gateway offers as one choice, the ticket's own
classification chosen (and kept when the tree no longer has it), and a choice posted back as the ledger's fields."""

from __future__ import annotations

import json
from typing import Any

import httpx
from console_fakes import HTML, signed_in
from fastapi.testclient import TestClient

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.views.classification import chosen_node, node_options, urgency_choices

TREE: dict[str, Any] = {"urgencies": ["critical", "urgent"], "topics": [
    {"id": "internet", "name": {"en": "Internet", "ru": "Интернет"}, "product_required": True, "types": [
        {"type": "complaint", "subtopics": [{"id": "no_connection", "name": {"en": "No connection"}}]}]},
    {"id": "tv", "name": {}, "product_required": False, "types": []}]}
TICKET = {"id": "T-1", "number": 7, "version": 1, "status": "in_progress", "channel": "email", "subject": "Down",
          "assignee_id": "ann", "line": "first", "urgency": "normal", "ticket_type": "complaint",
          "classification": {"topic": "internet", "type": "complaint"}, "history": []}


def label(kind: str) -> str:
    return kind.upper()


def test_every_node_is_one_choice_named_in_the_users_language_and_the_current_one_is_chosen() -> None:
    groups = node_options(TREE, TICKET["classification"], "ru", label)
    assert [(g.label, [(o.label, o.selected) for o in g.options]) for g in groups] == [
        ("Интернет", [("Интернет", False), ("Интернет › COMPLAINT", True),
                      ("Интернет › COMPLAINT › No connection", False)]),
        ("tv", [("tv", False)])]
    values = [o.value for g in groups for o in g.options]
    assert [chosen_node({"node": v}) for v in values] == [
        {"topic": "internet"}, {"topic": "internet", "type": "complaint"},
        {"topic": "internet", "type": "complaint", "subtopic": "no_connection"}, {"topic": "tv"}]


def test_a_classification_the_tree_no_longer_has_stays_offered_and_chosen() -> None:
    groups = node_options(TREE, {"topic": "fax", "subtopic": "paper&jam"}, "en", label)
    kept = groups[0].options[0]
    assert kept.selected and chosen_node({"node": kept.value}) == {"topic": "fax", "subtopic": "paper&jam"}
    assert not any(o.selected for g in groups[1:] for o in g.options)


def test_a_posted_choice_becomes_the_ledgers_fields_and_anything_else_is_nothing() -> None:
    assert chosen_node({"node": "topic=a&type=b&evil=1&product=x"}) == {"topic": "a", "type": "b"}
    assert chosen_node({"node": "topic=a&topic=b"}) is None  # one value per part, or it is not a choice we offered
    assert chosen_node({"node": ""}) is None and chosen_node({}) is None and chosen_node({"node": 3}) is None


def test_urgencies_are_the_rules_and_the_ledgers_own_and_the_tickets() -> None:
    assert urgency_choices(TREE, "low") == ["critical", "low", "normal", "urgent"]
    assert urgency_choices(None, None) == ["normal", "urgent"]


def test_the_page_offers_the_chooser_to_a_specialist_and_posts_the_chosen_node() -> None:
    posted: list[Any] = []
    routes = {"GET /api/v1/tickets/T-1": TICKET, "GET /api/v1/classification": TREE}

    def gateway(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/tickets/T-1/classification":
            posted.append(json.loads(request.content))
            return httpx.Response(200, json={"status": "done"})
        found = routes.get(f"{request.method} {request.url.path}")
        return httpx.Response(200, json=found) if found else httpx.Response(404, json={"status": 404})

    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))) as c:
        csrf = signed_in(c)
        page = c.get("/tickets/T-1", headers=HTML)
        assert page.status_code == 200, page.text
        assert '<select id="classify-node" name="node"' in page.text and "No connection" in page.text
        assert 'name="topic"' not in page.text  # no free-text topic where the tree is offered
        value = node_options(TREE, None, "en", label)[0].options[2].value
        done = c.post("/tickets/T-1/classify", data={"csrf_token": csrf, "node": value, "product": "fiber",
                                                     "ticket_type": "complaint", "urgency": "critical"},
                      follow_redirects=False)
        assert done.status_code == 303, done.text
    assert posted == [{"classification": {"topic": "internet", "type": "complaint", "subtopic": "no_connection",
                                          "product": "fiber"}, "ticket_type": "complaint", "urgency": "critical"}]
