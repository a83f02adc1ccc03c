"""The workspace's view logic: rows of a queue, the claim button, counts only when the gateway gives them."""

from __future__ import annotations

import httpx
from console_fakes import HTML, console, signed_in

from services.console.views.queues import QUEUES, counts, row

T = {"id": "T-1", "number": 7, "subject": "No connection", "status": "offered", "line": "first",
     "client": {"client_id": "C-1", "client_name": "Vector"}, "offered_to": ["ann", "bob"],
     "deadline": "2026-03-02T12:00:00Z"}


def test_a_row_shows_the_ticket_and_a_claim_only_on_my_unclaimed_offer() -> None:
    r = row(T, "offers", "ann")
    assert (r.number, r.subject, r.client, r.status, r.line, r.deadline) == (
        7, "No connection", "Vector", "offered", "first", "2026-03-02T12:00:00Z")
    assert r.claimable
    assert not row(T, "offers", "carol").claimable  # offered to others
    assert not row({**T, "assignee_id": "bob"}, "offers", "ann").claimable
    assert not row(T, "mine", "ann").claimable
    assert row({**T, "client": None, "sender": {"email": "x@y.example"}}, "mine", "ann").client == "x@y.example"


def test_counts_are_taken_only_for_our_queues_and_whole_numbers() -> None:
    assert counts({"agent_id": "ann", "counts": {"offers": 2, "mine": 0, "bogus": 5, "lost": -1, "overdue": True,
                                                 "at_risk": "3"}}) == {"offers": 2, "mine": 0}
    assert counts(None) == {} and counts([1]) == {} and counts({"counts": "x"}) == {}


def test_the_queue_page_renders_rows_and_live_parts_and_its_nav_loads_the_counts() -> None:
    page = {"items": [T], "limit": 100}
    with console({"GET /api/v1/queues/offers": page}) as c:
        csrf = signed_in(c)
        html = c.get("/queues/offers", headers=HTML).text
        assert 'data-live-src="/queues/offers/rows"' in html and "data-live-src=\"/queues/counts" in html
        assert 'data-row data-href="/tickets/T-1"' in html and 'action="/tickets/T-1/claim"' in html
        assert f'name="csrf_token" value="{csrf}"' in html
        assert '<time data-countdown datetime="2026-03-02T12:00:00Z">' in html
        assert 'class="count"' not in html  # no GET /queues yet (404): no numbers, none made up
        assert all(f'href="/queues/{q}"' in html for q in QUEUES)
        rows = c.get("/queues/offers/rows", headers=HTML).text
        assert rows.lstrip().startswith("<tr") and "<html" not in rows
    with console({"GET /api/v1/queues/offers": page,
                  "GET /api/v1/queues": {"agent_id": "ann", "counts": {"offers": 1, "mine": 4}}}) as c:
        signed_in(c)
        html = c.get("/queues/offers", headers=HTML).text
        assert 'class="count"' not in html  # the page does not wait for the counts; its nav fetches them
        nav = c.get("/queues/counts?current=offers", headers=HTML).text
        assert '<span class="count" aria-label="1 tickets">1</span>' in nav and ">4</span>" in nav


def test_refusals_are_shown_in_words_and_a_gateway_401_signs_out() -> None:
    refused = httpx.Response(403, json={"title": "Forbidden", "status": 403, "detail": "work queues are for staff"})
    with console({"GET /api/v1/queues/offers": refused}) as c:
        signed_in(c, role="client", user_id="P-1")
        page = c.get("/queues/offers", headers=HTML)
        assert page.status_code == 403 and "You may not do this: work queues are for staff" in page.text
        assert "Traceback" not in page.text
        assert c.get("/queues/lounge", headers=HTML).status_code == 404
    expired = httpx.Response(401, json={"title": "Unauthorized", "status": 401})
    with console({"GET /api/v1/queues/offers": expired}) as c:
        signed_in(c)
        out = c.get("/queues/offers", follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/sign-in?next=/queues/offers"
        assert 'fl_session=""' in out.headers["set-cookie"]
