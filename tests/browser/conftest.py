"""Fixtures of the console's browser journeys (tests/support/browser.py has the helpers).

- ``browser``: one headless Debian chromium for the session, driven by Playwright; where chromium or playwright
  is missing every test here skips, saying which.
- ``axe_core``: axe-core's script from the npm registry (installed once under var/npm); skips when npm cannot
  reach the registry.
- ``console_desk``: the desk of real processes with the console and the demo data (browser_desk.py), one for the
  whole session (starting it and loading the demo costs ~90 s): journeys share it, so each journey opens its own
  tickets and creates its own lines or agents, and never counts on a fresh desk.
- every context a test opens is closed after it; a failed test first gets a screenshot of each open page in its
  own folder.

A journey, in short (test_console_smoke.py is one)::

    page = await new_page(browser, DESKTOP, base_url=console_desk.console)
    await sign_in(page, "anna")
    await expect(page.get_by_role("link", name="#1")).to_be_visible()
    await shot(page, request, "offers")
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import AxeUnavailable, axe_source, chromium, unavailable
from tests.support.testing import isolated_env

from .browser_desk import ConsoleDesk, running_console_desk


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    async with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
async def axe_core() -> str:
    try:
        return await asyncio.to_thread(axe_source)
    except AxeUnavailable as e:
        pytest.skip(str(e))


@pytest.fixture(scope="package")
async def console_desk(browser: Any, infra: dict[str, str],
                       tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ConsoleDesk]:
    log_dir = tmp_path_factory.mktemp("console-desk") / "logs"
    async with running_console_desk({**infra, **isolated_env()}, log_dir) as desk:
        yield desk


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if call.when == "call":
        item.stash[_FAILED] = outcome.get_result().failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(autouse=True)
async def _contexts_closed(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[None]:
    yield
    failed = request.node.stash.get(_FAILED, False)
    for n, context in enumerate(list(browser.contexts)):
        if failed:
            for m, page in enumerate(context.pages):
                with contextlib.suppress(Exception):  # a page that cannot be shot must not hide the failure
                    await page.screenshot(path=str(tmp_path / f"failed-{n}-{m}.png"), full_page=True)
        await context.close()
