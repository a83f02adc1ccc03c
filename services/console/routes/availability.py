"""Set my availability (online, lunch, off shift, ...): the small form in every staff page's header."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from ..gateway import UserApi
from ..session import CsrfForm, safe_next

router = APIRouter()


def _with(path: str, **params: str) -> str:
    parts = urlsplit(path)
    return urlunsplit(("", "", parts.path, urlencode(params), ""))


@router.post("/me/availability")
async def set_availability(session: CsrfForm, api: UserApi, availability: Annotated[str, Form(max_length=40)] = "",
                           next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/") -> RedirectResponse:
    """The gateway judges the value (422 in words for one it does not know); back to the page it was set on."""
    if not availability:  # "Change…" left as it was: nothing to set
        return RedirectResponse(safe_next(next_url), status_code=303)
    done = await api.put("/me/availability", json={"availability": availability})
    return RedirectResponse(_with(safe_next(next_url), availability=str(done["availability"])), status_code=303)
