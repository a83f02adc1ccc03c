"""Issue 19, the client's journey on the shared desk of real processes: a demo client's contact asks for a sign-in
link on the portal, reads it from the mail notify kept, confirms it, opens a request with a file, sees the agent's
reply (sent through the gateway's API here) and never the agent's internal note, and rates the work from the
request's page. No CSP refusal on the way, nothing serious for axe on the portal's pages, and it fits a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

from shared.runtime.mailstore import MailStore
from tests.support.browser import (
    DESKTOP,
    PHONE,
    axe,
    csp_refusals,
    expect,
    explain,
    new_page,
    scroll_width,
    shot,
)
from tests.support.testing import eventually
from tools.demo.desk import contact_email

from .browser_desk import ConsoleDesk

EMAIL = contact_email("globex", 9)  # a contact of a service team B client: his requests go to team B's agents


async def sign_in_link(desk: ConsoleDesk, before: set[str]) -> str:
    """The portal link in the newest mail notify kept for the contact (the sink `make up` lists too)."""
    store = MailStore(Path(desk.stack.env["NOTIFY_SINK_DIR"]))

    def found() -> str | None:
        for kept in store.messages():
            if EMAIL in kept.to and kept.id not in before:
                return next((u for u in kept.links if "/portal/link?token=" in u), None)
        return None
    return str(await eventually(found, timeout=60, interval=0.5, message=f"a sign-in link mailed to {EMAIL}"))


async def ticket(http: httpx.AsyncClient, desk: ConsoleDesk, ticket_id: str) -> dict[str, Any]:
    resp = await http.get(desk.gw(f"/tickets/{ticket_id}"), headers=desk.auth())
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def act(http: httpx.AsyncClient, desk: ConsoleDesk, who: str, ticket_id: str, action: str,
              body: dict[str, Any] | None = None) -> None:
    resp = await http.post(desk.gw(f"/tickets/{ticket_id}/{action}"), json=body, headers=desk.auth(who))
    assert resp.status_code in (200, 202), f"{action} as {who}: {resp.text}"


async def agent_answers(desk: ConsoleDesk, ticket_id: str, reply: str, note: str) -> None:
    """Whoever the desk gave the request to (an offer claimed, or the lead it fell back to) replies, writes an
    internal note and resolves it with the two fields."""
    async with httpx.AsyncClient(timeout=60) as http:
        async def routed() -> dict[str, Any] | None:
            doc = await ticket(http, desk, ticket_id)
            return doc if doc.get("assignee_id") or doc.get("offered_to") else None
        doc = await eventually(routed, timeout=60, interval=0.5, message=f"routing of {ticket_id}")
        who = str(doc.get("assignee_id") or doc["offered_to"][0])
        assert who in desk.tokens, f"{who} is not a demo agent"
        if not doc.get("assignee_id"):
            await act(http, desk, who, ticket_id, "claim")
        await act(http, desk, who, ticket_id, "reply", {"text": reply})
        await act(http, desk, who, ticket_id, "notes", {"text": note})
        await act(http, desk, who, ticket_id, "resolve", {"problem": "Wi-Fi drops", "solution": "Replaced the AP"})


async def survey_is(desk: ConsoleDesk, ticket_id: str, state: str) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        async def reached() -> bool:
            return bool((await ticket(http, desk, ticket_id)).get("survey", {}).get("state") == state)
        await eventually(reached, timeout=90, interval=0.5, message=f"the survey of {ticket_id} {state}")


async def test_a_client_signs_in_by_link_opens_a_request_with_a_file_sees_the_reply_and_rates_it(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any, tmp_path: Path) -> None:
    uid = uuid4().hex[:8]
    subject, reply, note = f"Wi-Fi drops every hour ({uid})", f"We replaced your access point ({uid}).", \
        f"Internal: the client's AP was a grey import ({uid})"
    before = {k.id for k in MailStore(Path(console_desk.stack.env["NOTIFY_SINK_DIR"])).messages()}

    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(page)
    await page.goto("/portal/sign-in")
    await page.get_by_label("E-mail address").fill(EMAIL)
    await page.get_by_role("button", name="Mail me a sign-in link").click()
    await expect(page.get_by_role("status")).to_contain_text("Check your mail")
    link = await sign_in_link(console_desk, before)
    assert link.startswith(console_desk.console + "/portal/link?token="), link
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/portal$"))

    await page.get_by_role("link", name="New request").click()
    await page.get_by_label("Subject").fill(subject)
    await page.get_by_label("Describe the problem").fill("The office Wi-Fi drops for a minute every hour.")
    await page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "wifi-log.txt", "mimeType": "text/plain", "buffer": b"09:00 link down\n09:01 link up\n"}])
    await page.get_by_role("button", name="Send the request").click()
    await expect(page).to_have_url(re.compile(r"/portal/tickets/[^/?]+"))
    ticket_id = page.url.split("/portal/tickets/")[1].split("?")[0]
    await expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    await expect(page.get_by_role("link", name="Download wifi-log.txt")).to_be_visible()

    await agent_answers(console_desk, ticket_id, reply, note)
    await survey_is(console_desk, ticket_id, "pending")
    await page.reload()
    await expect(page.get_by_text(reply)).to_be_visible()
    await expect(page.get_by_text(note)).to_have_count(0)
    await expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    await shot(page, request, "reply-and-survey")

    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await inspected.context.add_cookies(await page.context.cookies())
    for path in ("/portal", f"/portal/tickets/{ticket_id}"):
        await inspected.goto(path)
        await expect(inspected.get_by_role("main")).to_contain_text(subject)
        assert (violations := await axe(inspected, axe_core)) == [], f"{path}: {explain(violations)}"
    phone = await new_page(browser, PHONE, base_url=console_desk.console)
    await phone.context.add_cookies(await page.context.cookies())
    await phone.goto(f"/portal/tickets/{ticket_id}")
    await expect(phone.get_by_text(reply)).to_be_visible()
    assert await scroll_width(phone) <= PHONE, "the request's page scrolls sideways at 390 px"

    await page.get_by_role("link", name="The work was good").click()  # feedback's own page records the answer
    await expect(page.get_by_text("is recorded")).to_be_visible()
    await survey_is(console_desk, ticket_id, "answered")
    await page.goto(f"/portal/tickets/{ticket_id}")
    await expect(page.get_by_text("Thank you: your rating is recorded.")).to_be_visible()
    await expect(page.get_by_role("link", name="The work was good")).to_have_count(0)
    assert refused == [], refused
    await shot(page, request, "rated")
