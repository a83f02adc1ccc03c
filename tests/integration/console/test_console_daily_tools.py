"""The agent's daily tools in the console against a real desk (issue 22, W4): the ledger, routing, the gateway and
the search service on the real broker and database, the console served in front with its development sign-in.
Tag a ticket and filter a queue by it; a field's value refused by the ledger is shown next to the field; merge two
tickets of one client (and see both pages), a merge across clients refused in words; search finds a ticket by a word
of its message; a personal macro made on "My macros" is applied on the ticket page, step by step."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from integration.console.daily_tools_desk import WAIT, ToolsDesk, signed_in, tools_desk

from shared.contracts.schemas.common import ClientRef
from tests.support.console_client import HTML
from tests.support.testing import eventually

C1 = ClientRef(client_id="C-1", client_name="Vector", service_team_id="A")
C2 = ClientRef(client_id="C-2", client_name="Orbit", service_team_id="A")
DEVICES = {"id": "devices", "label": {"ru": "Устройств", "en": "Devices"}, "kind": "number"}
TICKETS = {"W1": C1, "W2": C1, "W3": C1, "W4": C1, "W5": C2, "W6": C1}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(infra: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ToolsDesk]:
    tickets = {tid: ("zebracorn jammed" if tid == "W6" else f"help with {tid}", client)
               for tid, client in TICKETS.items()}
    async with tools_desk(infra, tmp_path_factory.mktemp("w4-index"), [DEVICES], tickets) as desk:
        yield desk


async def test_tag_a_ticket_and_filter_the_queue_by_it(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, csrf):
        done = await ann.post("/tickets/W1/tags", data={"csrf_token": csrf, "add": "W4-Outage vip"})
        assert done.status_code == 303 and done.headers["location"] == "/tickets/W1?tool=tags"
        page = await ann.get(done.headers["location"], headers=HTML)
        assert "The tags were changed." in page.text and '<li class="tag">w4-outage</li>' in page.text
        assert "Tags changed" in page.text  # the history entry, in words
        queue = await ann.get("/queues/offers", params={"tag": "w4-outage"}, headers=HTML)
        assert queue.status_code == 200 and 'href="/tickets/W1"' in queue.text
        assert 'href="/tickets/W2"' not in queue.text
        assert 'data-live-src="/queues/offers/rows?tag=w4-outage"' in queue.text
        rows = await ann.get("/queues/offers/rows", params={"tag": "w4-outage"}, headers=HTML)
        assert 'href="/tickets/W1"' in rows.text and 'href="/tickets/W2"' not in rows.text
        everything = await ann.get("/queues/offers", headers=HTML)
        assert 'href="/tickets/W2"' in everything.text


async def test_a_value_the_ledger_refuses_is_shown_next_to_its_field(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, csrf):
        page = await ann.get("/tickets/W2", headers=HTML)
        assert '<label for="fields-devices">Devices</label>' in page.text
        refused = await ann.post("/tickets/W2/fields", data={"csrf_token": csrf, "devices": "three"}, headers=HTML)
        assert refused.status_code == 422, refused.text
        assert '<span class="field-error" id="fields-devices-error">devices takes a number' in refused.text
        assert 'value="three"' in refused.text and "Traceback" not in refused.text
        done = await ann.post("/tickets/W2/fields", data={"csrf_token": csrf, "devices": "3"})
        assert done.status_code == 303
        again = await ann.get("/tickets/W2", headers=HTML)
        assert 'name="devices" type="number" step="any" value="3"' in again.text and "Fields set" in again.text


async def test_merge_two_tickets_of_one_client_and_see_both_pages(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, csrf):
        target = f"#{console.numbers['W4']}"
        done = await ann.post("/tickets/W3/merge", data={"csrf_token": csrf, "target": target, "reason": "same"})
        assert done.status_code == 303, done.text
        source = await ann.get("/tickets/W3", headers=HTML)
        assert 'Merged into <a href="/tickets/W4">W4</a>' in source.text
        assert "Merged into another ticket" in source.text and 'action="/tickets/W3/merge"' not in source.text
        async def absorbed() -> str | None:  # the target takes the entries over by a follow-up command
            page = (await ann.get("/tickets/W4", headers=HTML)).text
            return page if 'Merged from <a href="/tickets/W3">W3</a>' in page else None
        merged = await eventually(absorbed, timeout=WAIT, message="W4 shows what came from W3")
        assert "help with W3" in merged and "Took over another ticket" in merged

        across = await ann.post("/tickets/W5/merge", data={"csrf_token": csrf, "target": "W4",
                                                           "confirm_cross_client": "yes"}, headers=HTML)
        assert across.status_code == 409 and "only a team lead may merge them" in across.text
        assert (await console.desk.ticket("W5"))["status"] != "closed"


async def test_search_finds_a_ticket_by_a_word_of_its_message(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, _):
        async def found() -> str | None:
            page = await ann.get("/search", params={"q": "zebracorn"}, headers=HTML)
            return page.text if 'href="/tickets/W6"' in page.text else None
        html = await eventually(found, timeout=WAIT, message="W6 searchable from the console")
        assert "<mark>zebracorn</mark>" in html and 'href="/tickets/W1"' not in html
        assert 'name="q" type="search" value="zebracorn"' in html


async def test_a_personal_macro_is_made_and_applied_step_by_step(console: ToolsDesk) -> None:
    async with signed_in(console) as (ann, csrf):
        bad = await ann.post("/macros", data={"csrf_token": csrf, "name": "Thanks", "reply_en": "Hi {{ nme }}"},
                             headers=HTML)
        assert bad.status_code == 422 and 'id="m-reply_en-error"' in bad.text
        made = await ann.post("/macros", data={"csrf_token": csrf, "name": "W4 thanks", "add_tags": "w4-macro",
                                               "reply_en": "Thank you, request #{{ number }} is in hand."})
        assert made.status_code == 303, made.text
        assert "W4 thanks" in (await ann.get("/macros", headers=HTML)).text
        claimed = await ann.post("/tickets/W6/claim", data={"csrf_token": csrf})
        assert claimed.status_code == 303
        page = await ann.get("/tickets/W6", headers=HTML)
        macro_id = re.search(r'<option value="([^"]+)">W4 thanks</option>', page.text)
        assert macro_id, page.text
        applied = await ann.post("/tickets/W6/macro", data={"csrf_token": csrf, "macro_id": macro_id.group(1)})
        assert applied.status_code == 303, applied.text
        shown = await ann.get(applied.headers["location"], headers=HTML)
        assert "reply: done" in shown.text and "tags: done" in shown.text
        assert f"request #{console.numbers['W6']} is in hand" in shown.text
        assert '<li class="tag">w4-macro</li>' in shown.text
