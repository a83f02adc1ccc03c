"""Issue 19, the console's first journey on a desk of real processes with the demo loaded: a demo specialist signs
in through the development page and sees the offers the gateway holds for him; the page runs under its own CSP
without a refusal, axe-core finds nothing serious on it, and at a phone's width it needs no horizontal scroll."""

from __future__ import annotations

import re
from typing import Any

import httpx

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
    sign_in,
)
from tools.demo.desk import AGENTS

from .browser_desk import ConsoleDesk


async def offers(desk: ConsoleDesk, who: str) -> list[dict[str, Any]]:
    """The offers queue as the gateway answers it to ``who``."""
    async with httpx.AsyncClient(timeout=60) as http:
        resp = await http.get(desk.gw("/queues/offers"), params={"limit": 50}, headers=desk.auth(who))
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


async def a_specialist_with_offers(desk: ConsoleDesk) -> tuple[str, list[dict[str, Any]]]:
    for agent in AGENTS:
        if agent["roles"] == ["specialist"] and (offered := await offers(desk, agent["id"])):
            return agent["id"], offered
    raise AssertionError("the demo left no specialist an offer")


async def test_a_specialist_signs_in_and_sees_his_offers_on_an_accessible_page_that_fits_a_phone(
        browser: Any, console_desk: ConsoleDesk, axe_core: str, request: Any) -> None:
    who, offered = await a_specialist_with_offers(console_desk)

    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    refused = csp_refusals(page)
    await sign_in(page, who)
    await expect(page).to_have_url(re.compile(r"/queues/offers$"))
    await expect(page.get_by_role("main").locator("[data-row]").first).to_be_visible()
    for ticket in offered[:5]:
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"#{ticket['number']}", exact=True))
        await expect(row).to_be_visible()
        if ticket.get("subject"):
            await expect(row.get_by_role("cell", name=ticket["subject"], exact=True)).to_be_visible()
    assert refused == [], refused
    await shot(page, request, "offers-1280")

    inspected = await new_page(browser, DESKTOP, base_url=console_desk.console, bypass_csp=True)
    await sign_in(inspected, who, "/queues/offers")
    await expect(inspected.get_by_role("main").locator("[data-row]").first).to_be_visible()
    assert (violations := await axe(inspected, axe_core)) == [], explain(violations)

    phone = await new_page(browser, PHONE, base_url=console_desk.console)
    await sign_in(phone, who, "/queues/offers")
    await expect(phone.get_by_role("main").locator("[data-row]").first).to_be_visible()
    assert await scroll_width(phone) <= PHONE, "the offers page scrolls sideways at 390 px"
    await shot(phone, request, "offers-390")
