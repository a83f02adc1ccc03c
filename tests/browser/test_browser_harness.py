"""The harness every console journey stands on, checked on pages of our own (no desk): chromium runs headless
with our flags and a fresh profile, a strict CSP holds in it, axe-core finds what it must and nothing on a clean
page, the phone-width check sees a horizontal scroll, and screenshots land where the brief says."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from tests.support.browser import (
    CHROMIUM_ARGS,
    PHONE,
    SCREENSHOTS,
    PlaywrightError,
    axe,
    explain,
    new_page,
    scroll_width,
    shot,
)
from tests.support.testing import serving
from tools.ports import descendants

STRICT = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'"
PAGE = """<!doctype html><html lang="en"><head><title>Harness</title></head>
<body><header><p>Desk</p></header><main><h1>Queue</h1>
<label for="q">Search</label><input id="q"><button type="button">Claim</button>
<script>document.title = 'inline script ran'</script></main></body></html>"""
BROKEN = """<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Broken</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><button type="button"></button><input id="x">
</main></body></html>"""
WIDE = """<!doctype html><html lang="en"><head><title>Wide</title></head>
<body><main><h1>Wide</h1><table><tr><td style="min-width: 800px">a row too wide for a phone</td></tr></table>
</main></body></html>"""


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[str]:
    app = FastAPI()

    @app.get("/")
    async def page() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": STRICT})

    async with serving(app) as url:
        yield url


def chromium_command_lines() -> list[list[str]]:
    out = []
    for pid in descendants(os.getpid()):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if any("--user-data-dir=" in a for a in args) and "--type=renderer" not in " ".join(args):
            out.append(args)
    return out


def is_fresh_profile(path: str) -> bool:
    """A temporary profile Playwright made for this launch (it removes it when the browser closes)."""
    return Path(path).is_dir() and Path(path).name.startswith("playwright_chromiumdev_profile-")


async def test_chromium_runs_headless_with_our_flags_and_a_fresh_profile(browser: Any) -> None:
    browsers = [args for args in chromium_command_lines() if not any(a.startswith("--type=") for a in args)]
    assert browsers, "no chromium browser process below this test run"
    args = browsers[0]
    assert set(CHROMIUM_ARGS) <= set(args), sorted(set(CHROMIUM_ARGS) - set(args))
    assert any(a.startswith("--headless") for a in args)
    profile = next(a for a in args if a.startswith("--user-data-dir=")).split("=", 1)[1]
    assert is_fresh_profile(profile), profile


async def test_a_local_page_renders_under_a_strict_csp_that_runs_no_injected_script(
        browser: Any, site: str) -> None:
    page = await new_page(browser, base_url=site)
    await page.goto("/")
    assert await page.get_by_role("heading", name="Queue").is_visible()
    assert await page.title() == "Harness", "the inline script ran despite the CSP"
    with pytest.raises(PlaywrightError, match="Content Security Policy"):
        await page.add_script_tag(content="window.injected = 1")
    assert await page.evaluate("() => window.injected") is None

    inspected = await new_page(browser, base_url=site, bypass_csp=True)
    await inspected.goto("/")
    await inspected.add_script_tag(content="window.injected = 1")
    assert await inspected.evaluate("() => window.injected") == 1


async def test_axe_reports_serious_and_critical_violations_and_none_on_a_clean_page(
        browser: Any, site: str, axe_core: str) -> None:
    page = await new_page(browser)
    await page.set_content(BROKEN)
    found = {v["id"] for v in await axe(page, axe_core)}
    assert {"image-alt", "button-name", "label"} <= found, found

    clean = await new_page(browser, base_url=site, bypass_csp=True)
    await clean.goto("/")
    assert (violations := await axe(clean, axe_core)) == [], explain(violations)


async def test_axe_says_how_to_fix_a_page_opened_under_the_csp(browser: Any, site: str, axe_core: str) -> None:
    page = await new_page(browser, base_url=site)
    await page.goto("/")
    with pytest.raises(AssertionError, match="bypass_csp=True"):
        await axe(page, axe_core)


async def test_the_phone_width_check_sees_a_horizontal_scroll(browser: Any, site: str) -> None:
    page = await new_page(browser, PHONE)
    await page.set_content(WIDE)
    assert await scroll_width(page) > PHONE
    fits = await new_page(browser, PHONE, base_url=site)
    await fits.goto("/")
    assert await scroll_width(fits) <= PHONE


async def test_screenshots_land_in_the_test_folder_and_the_last_under_var_screenshots(
        browser: Any, site: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    page = await new_page(browser, base_url=site)
    await page.goto("/")
    first = await shot(page, request, "opened")
    await page.get_by_label("Search").fill("router")
    last = await shot(page, request, "typed")
    assert [p.name for p in sorted((tmp_path / "screenshots").iterdir())] == ["01-opened.png", "02-typed.png"]
    assert first.read_bytes().startswith(b"\x89PNG") and first.read_bytes() != last.read_bytes()
    assert (SCREENSHOTS / f"{request.node.name}.png").read_bytes() == last.read_bytes()
