"""Notify's internal API as the gateway calls it: a person's in-app feed and the template previews.

The feed is notify's data and its read flag a write, so the gateway asks notify instead of reading its
collection; the caller is always the authenticated person, never an id from the request. Notify's own
refusals of the request (404, 422) pass through; notify failing or unreachable is a 502/503, never a 500.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts.language import LANGUAGES
from shared.contracts.notify_api import InboxItem, PreviewIn, PreviewOut, TemplateNames
from shared.runtime.problems import ProblemError

from ..settings import GatewaySettings
from .internal import InternalService

M = TypeVar("M", bound=BaseModel)
PASSED_ON = (404, 422)  # notify's word on the request itself: the caller sees it as is


class NotifyApi(InternalService):
    def __init__(self, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, settings.notify_url, settings.notify_timeout_seconds, transport)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ProblemError(503, "Notify unavailable", f"notify could not be reached ({type(exc).__name__})",
                               headers={"Retry-After": "5"}) from exc
        if resp.is_success:
            return resp
        if resp.status_code in PASSED_ON:
            body = _problem(resp)
            raise ProblemError(resp.status_code, str(body.get("title") or resp.reason_phrase),
                               body.get("detail"), errors=body.get("errors"))
        if resp.status_code == 503:
            raise ProblemError(503, "Notify unavailable", "notify is not ready", headers={"Retry-After": "5"})
        raise ProblemError(502, "Bad Gateway", f"notify answered {resp.status_code}")

    async def inbox(self, user_id: str, unread: bool, limit: int) -> list[InboxItem]:
        resp = await self._call("GET", "/inbox", params={"user": user_id, "unread": unread, "limit": limit})
        items = _json(resp).get("items")
        return [_model(InboxItem, item) for item in (items if isinstance(items, list) else [])]

    async def mark_read(self, user_id: str, item_id: str) -> bool:
        """False when the person has no such item (someone else's is the same: not found)."""
        try:
            await self._call("POST", f"/inbox/{_segment(item_id)}/read", params={"user": user_id})
        except ProblemError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def template_names(self) -> TemplateNames:
        return _model(TemplateNames, _json(await self._call("GET", "/templates")))

    async def preview(self, name: str, body: PreviewIn) -> PreviewOut:
        resp = await self._call("POST", f"/templates/{_segment(name)}/preview", json=body.model_dump(mode="json"))
        return _model(PreviewOut, _json(resp))

    async def saved_preview(self, name: str, language: str) -> PreviewOut:
        if language not in LANGUAGES:
            raise ProblemError(422, "Invalid language", f"one of {', '.join(LANGUAGES)}")
        resp = await self._call("GET", f"/templates/{_segment(name)}/preview", params={"language": language})
        return _model(PreviewOut, _json(resp))


def _segment(value: str) -> str:
    """One path segment, whatever the caller sent (``/`` and ``..`` cannot reach another notify path)."""
    return quote(value, safe="").replace(".", "%2E")


def _problem(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _json(resp: httpx.Response) -> dict[str, Any]:
    body = _problem(resp)
    if not body:
        raise ProblemError(502, "Bad Gateway", "notify answered something that is not a JSON object")
    return body


def _model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(502, "Bad Gateway", f"notify answered an unexpected {model.__name__}") from exc
