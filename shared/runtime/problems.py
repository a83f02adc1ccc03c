"""RFC 9457 problem details for every HTTP error, so clients get one error shape."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import islice
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# A hostile body can carry errors by the hundred thousand; the first few say what is wrong, the rest is a count.
MAX_REPORTED_ERRORS = 20


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(None, description=f"At most {MAX_REPORTED_ERRORS} validation errors")
    errors_truncated: int | None = Field(None, description="How many further errors were not reported")


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, *, type: str = "about:blank",
                 headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type, self.extra = status, title, detail, type, extra
        self.headers = dict(headers or {})


def problem_response(status: int, title: str, detail: str | None = None, instance: str | None = None,
                     headers: Mapping[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, instance=instance).model_dump(exclude_none=True)
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=dict(headers or {}))


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem bodies."""
    return {c: {"model": Problem, "content": {PROBLEM_JSON: {}}} for c in codes}


def reported_errors(errors: list[Any]) -> dict[str, Any]:
    """The ``errors`` (capped) and ``errors_truncated`` members of a 422 problem, from pydantic-style errors."""
    shown = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": str(e.get("type"))}
             for e in islice(errors, MAX_REPORTED_ERRORS)]
    rest = len(errors) - len(shown)
    return {"errors": shown, "errors_truncated": rest or None}


def _undecodable(exc: StarletteHTTPException) -> bool:
    """FastAPI answers a body its JSON parser raised on (bad UTF-8, nesting, huge integers) with a bare 400."""
    return exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, str(request.url.path), exc.headers, type=exc.type,
                                **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if _undecodable(exc):  # one answer for every undecodable body: the documented 422
            error = {"loc": ["body"], "msg": "JSON decode error", "type": "json_invalid"}
            return problem_response(422, "Invalid request", "the body is not decodable JSON", str(request.url.path),
                                    errors=[error])
        title = {404: "Not Found", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed",
                 409: "Conflict", 413: "Content Too Large"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(exc.status_code, title, detail, str(request.url.path), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(422, "Invalid request", "the request does not match the schema",
                                str(request.url.path), **reported_errors(list(exc.errors())))
