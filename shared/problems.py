"""RFC 9457 problem details for every HTTP error, so clients get one error shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, *, type: str = "about:blank",
                 **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type, self.extra = status, title, detail, type, extra


def problem_response(status: int, title: str, detail: str | None = None, instance: str | None = None,
                     **extra: Any) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, instance=instance).model_dump(exclude_none=True)
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem bodies."""
    return {c: {"model": Problem, "content": {PROBLEM_JSON: {}}} for c in codes}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, str(request.url.path), **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not Found", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed",
                 409: "Conflict", 413: "Content Too Large"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        resp = problem_response(exc.status_code, title, detail, str(request.url.path))
        for k, v in (exc.headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
                  for e in exc.errors()]
        return problem_response(422, "Invalid request", "the request does not match the schema",
                                str(request.url.path), errors=errors)
