"""A real browser for the console's journeys: Debian's chromium driven by Playwright, axe-core from npm.

Playwright never downloads a browser here (the machines are offline but for the package registries): it launches
``/usr/bin/chromium`` (scripts/system-deps.sh installs it) headless, with Chromium's own network chatter switched
off, since the machine refuses it. Each launch gets a fresh, empty profile (Playwright makes a temporary
user-data dir per launch; it refuses ``--user-data-dir`` in ``launch``'s args). Waits are Playwright's
auto-waiting ``expect`` with a loaded machine's timeout (:data:`TIMEOUT_MS`), never sleeps.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

if importlib.util.find_spec("playwright") is not None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright, expect
else:  # the test extra is not installed: the browser fixture skips every journey, saying so
    async_playwright = expect = None
    PlaywrightError = Exception

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync")
TIMEOUT_MS = 30_000
DESKTOP, PHONE = 1280, 390  # the two widths every page must work at
REPO = Path(__file__).resolve().parents[2]
NPM_PREFIX = REPO / "var" / "npm"
AXE_JS = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO / "var" / "screenshots"
BLOCKING = ("serious", "critical")  # axe impacts that fail a page

if expect is not None:
    expect.set_options(timeout=TIMEOUT_MS)


def unavailable() -> str | None:
    """Why no browser journey can run here, or None."""
    if expect is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (scripts/system-deps.sh installs Debian's chromium as root)"
    return None


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    assert async_playwright is not None, unavailable()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Browser, width: int = DESKTOP, *, base_url: str | None = None,
                   bypass_csp: bool = False, locale: str = "en-US", height: int = 900) -> Page:
    """A page in a context of its own (its own cookies: one signed-in person), ``width`` px wide.

    ``bypass_csp`` only for a page that axe will inspect: the console's CSP rightly forbids injected scripts.
    """
    context = await browser.new_context(viewport={"width": width, "height": height}, base_url=base_url,
                                        bypass_csp=bypass_csp, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    return await context.new_page()


def csp_refusals(page: Page) -> list[str]:
    """Every Content-Security-Policy refusal the page logs from now on (a journey asserts the list stays empty)."""
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


async def sign_in(page: Page, user_id: str, next_url: str | None = None) -> None:
    """Sign in through the development sign-in page as a person would: the row headed by the person's name and
    ``(user_id)``, its sign-in button; then wait until the console has left the sign-in pages."""
    await page.goto("/sign-in/dev" + (f"?next={quote(next_url)}" if next_url else ""))
    person = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=f"({user_id})"))
    await person.get_by_role("button").click()
    await expect(page).not_to_have_url(re.compile(r"/sign-in"))


async def shot(page: Page, request: pytest.FixtureRequest, step: str) -> Path:
    """Save a screenshot of this step under the test's own folder; the latest also as var/screenshots/<test>.png."""
    folder = Path(request.getfixturevalue("tmp_path")) / "screenshots"
    folder.mkdir(exist_ok=True)
    path = folder / f"{len(list(folder.glob('*.png'))) + 1:02d}-{_safe(step)}.png"
    await page.screenshot(path=str(path), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, SCREENSHOTS / f"{_safe(request.node.name)}.png")
    return path


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


class AxeUnavailable(RuntimeError):
    """axe-core could not be had from the npm registry."""


def axe_source() -> str:
    """axe-core's script, installed once from the npm registry under var/npm (kept between runs)."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise AxeUnavailable("npm is not installed, so axe-core cannot be fetched")
        done = subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(NPM_PREFIX),  # noqa: S603
                               "axe-core@4"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not AXE_JS.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise AxeUnavailable(f"npm could not install axe-core@4 from the registry: {' / '.join(tail)}")
    return AXE_JS.read_text(encoding="utf-8")


_RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


async def axe(page: Page, source: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (each: id, impact, help, nodes)."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        try:
            await page.add_script_tag(content=source)
        except PlaywrightError as e:
            raise AssertionError("the page's CSP refused axe-core: open it with new_page(..., bypass_csp=True)") from e
    found: list[dict[str, Any]] = await page.evaluate(_RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


def explain(violations: list[dict[str, Any]]) -> str:
    """Violations in words, for an assertion message."""
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'][:5])}" for v in violations)


async def scroll_width(page: Page) -> int:
    """How wide the page's content is: at most the viewport's width when there is no horizontal scroll."""
    return int(await page.evaluate("() => document.scrollingElement.scrollWidth"))
