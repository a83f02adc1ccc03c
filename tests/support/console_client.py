"""Signing in to the console over HTTP (no browser), through its development sign-in page as a newcomer would."""

from __future__ import annotations

import re

import httpx

HTML = {"accept": "text/html"}


async def dev_sign_in(http: httpx.AsyncClient, person: str) -> None:
    """Pick ``person`` ("admin", "agent:<id>", "contact:<id>") on /sign-in/dev; the client keeps the session cookie."""
    page = await http.get("/sign-in/dev", headers=HTML)
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token and f'value="{person}"' in page.text
    done = await http.post("/sign-in/dev", data={"person": person, "form_token": token.group(1), "next": "/"})
    assert done.status_code == 303, done.text
    assert "fl_session" in http.cookies
