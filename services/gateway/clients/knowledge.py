"""The knowledge service's internal API as the gateway calls it: every call names the caller as a ``Viewer`` (his
own id and audience, his client category), never an id from the request, so the knowledge service scopes what it
answers to him. Its refusals of the request (404, 409, 422) pass through; it failing or being away is a 502/503
problem, never a 500."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts.knowledge_api import Viewer
from shared.runtime.problems import ProblemError

from ..settings import GatewaySettings
from .internal import InternalService, json_object

M = TypeVar("M", bound=BaseModel)
PASSED_ON = (404, 409, 413, 415, 422)
UNAVAILABLE = {"Retry-After": "5"}


class KnowledgeApi(InternalService):
    def __init__(self, settings: GatewaySettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings, settings.knowledge_url, settings.knowledge_timeout_seconds, transport)

    async def call(self, model: type[M], method: str, path: str, viewer: Viewer, *,
                   params: dict[str, Any] | None = None, body: BaseModel | None = None,
                   content: bytes | None = None) -> M:
        """``path`` is built by the gateway's routes from validated segments (``/`` cannot occur in them)."""
        resp = await self.request(method, path, viewer, params=params, body=body, content=content)
        try:
            return model.model_validate(json_object(resp))
        except (ValidationError, ValueError) as exc:
            raise ProblemError(502, "Bad Gateway", f"the knowledge service answered an unexpected "
                               f"{model.__name__}") from exc

    async def request(self, method: str, path: str, viewer: Viewer, *, params: dict[str, Any] | None = None,
                      body: BaseModel | None = None, content: bytes | None = None) -> httpx.Response:
        """The successful answer as it came (a file's bytes); a refusal or a failure as the problem it means."""
        who = {"viewer": viewer.user_id, "audience": viewer.audience, "client_category": viewer.client_category}
        query = {k: v for k, v in {**(params or {}), **who}.items() if v is not None}
        try:
            resp = await self.http.request(method, path, params=query, content=content,
                                           json=body.model_dump(mode="json") if body is not None else None)
        except httpx.HTTPError as exc:
            raise ProblemError(503, "Knowledge base unavailable", f"the knowledge service could not be reached "
                               f"({type(exc).__name__})", headers=UNAVAILABLE) from exc
        if resp.status_code in PASSED_ON:
            found = json_object(resp)
            extra = {k: found[k] for k in ("errors", "accepted", "limit") if k in found}
            raise ProblemError(resp.status_code, str(found.get("title") or resp.reason_phrase), found.get("detail"),
                               **extra)
        if resp.status_code == 503:
            raise ProblemError(503, "Knowledge base unavailable", "the knowledge service is not ready",
                               headers=UNAVAILABLE)
        if not resp.is_success:
            raise ProblemError(502, "Bad Gateway", f"the knowledge service answered {resp.status_code}")
        return resp

