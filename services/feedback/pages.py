"""The client's answer pages: server-rendered HTML (no JavaScript needed), ru and en.

A browser gets an HTML page for every outcome, refusals included (with their 4xx status);
a client that asks for JSON gets JSON, and RFC 9457 problem bodies for refusals.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.contracts.language import LANGUAGES, Language
from shared.runtime.problems import problem_response, problem_responses

from .answers import AnswerService
from .domain import ANSWERS, LABELS, Refused, Survey, SurveyStatus, pick_language

TEMPLATES = Path(__file__).parent / "templates"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}
TITLES = {
    "invalid_link": "Invalid link", "expired": "Link expired", "already_answered": "Already answered",
    "survey_closed": "Survey closed", "not_resolved": "Ticket not resolved", "unknown_answer": "Unknown answer",
    "not_answered": "Not answered yet", "already_commented": "Already commented", "empty_comment": "Empty comment",
    "comment_too_long": "Comment too long",
}


@lru_cache(maxsize=1)
def _env() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                         undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, lang: Language, status: int = 200, **context: Any) -> HTMLResponse:
    ctx = {"lang": lang, "labels": LABELS[lang], "lang_links": [], "number": None, "answer": None,
           "max_comment": 0, **context}
    html = _env().get_template(f"{lang}/{name}.html.j2").render(ctx)
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def _base(request: Request, token: str) -> str:
    return f"{request.scope.get('root_path', '')}/s/{quote(token, safe='')}"


def router(service: AnswerService, default_language: Language, max_comment: int, confirm_answers: bool) -> APIRouter:
    api = APIRouter(tags=["survey"])

    def lang_of(request: Request, survey: Survey | None) -> Language:
        return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"),
                             default_language, survey.language if survey else None)

    def page(request: Request, token: str, name: str, survey: Survey | None, status: int = 200,
             **context: Any) -> HTMLResponse:
        base = _base(request, token)
        links = [(code, f"{base}?lang={code}") for code in LANGUAGES]
        return render(name, lang_of(request, survey), status, lang_links=links, max_comment=max_comment,
                      number=survey.ticket_number if survey else None, **context)

    def refused(request: Request, token: str, exc: Refused) -> Response:
        survey = exc.survey
        if wants_json(request):
            return problem_response(exc.status, TITLES.get(exc.code, "Refused"), exc.code.replace("_", " "),
                                    request.url.path, code=exc.code)
        return page(request, token, "refused", survey, exc.status, code=exc.code,
                    answer=survey.answer if survey else None)

    def answered(request: Request, token: str, survey: Survey, status: int = 200) -> Response:
        if wants_json(request):
            return JSONResponse({"survey_id": survey.survey_id, "ticket_number": survey.ticket_number,
                                 "answer": survey.answer, "comment": survey.comment, "status": survey.status.value},
                                status_code=status, headers=NO_STORE)
        return page(request, token, "answered", survey, status, answer=survey.answer, comment=survey.comment,
                    comment_action=f"{_base(request, token)}/comment")

    @api.get("/s/{token}", summary="The survey: three answers, or the answer already given",
             response_class=HTMLResponse, responses=problem_responses(403, 409, 410))
    async def show(request: Request, token: str) -> Response:
        try:
            survey = await service.survey_for(token)
        except Refused as exc:
            return refused(request, token, exc)
        if survey.status == SurveyStatus.answered:
            return answered(request, token, survey)
        try:
            survey = await service.answerable(token)
        except Refused as exc:
            return refused(request, token, exc)
        base = _base(request, token)
        return page(request, token, "choose", survey, links=[(a, f"{base}/{a}") for a in ANSWERS])

    @api.post("/s/{token}/comment", summary="The optional comment after answering (stored once)",
              response_class=HTMLResponse, responses=problem_responses(403, 409, 410, 422))
    async def comment(request: Request, token: str) -> Response:
        text = await _comment_text(request)
        try:
            survey = await service.comment(token, text)
        except Refused as exc:
            return refused(request, token, exc)
        if wants_json(request):
            return JSONResponse({"survey_id": survey.survey_id, "comment": survey.comment}, headers=NO_STORE)
        return page(request, token, "commented", survey)

    @api.get("/s/{token}/{answer}", summary="One click records the answer (unless confirmation is on)",
             response_class=HTMLResponse, responses=problem_responses(403, 404, 409, 410))
    async def click(request: Request, token: str, answer: str) -> Response:
        if confirm_answers:
            try:
                if answer not in ANSWERS:
                    raise Refused("unknown_answer", 404)
                survey = await service.answerable(token)
            except Refused as exc:
                return refused(request, token, exc)
            return page(request, token, "confirm", survey, answer=answer, action=f"{_base(request, token)}/{answer}")
        return await _record(request, token, answer)

    @api.post("/s/{token}/{answer}", summary="Record the answer (the confirmation form, or a JSON client)",
              response_class=HTMLResponse, responses=problem_responses(403, 404, 409, 410))
    async def submit(request: Request, token: str, answer: str) -> Response:
        return await _record(request, token, answer)

    async def _record(request: Request, token: str, answer: str) -> Response:
        try:
            survey = await service.answer(token, answer)
        except Refused as exc:
            return refused(request, token, exc)
        return answered(request, token, survey, 201 if wants_json(request) else 200)

    return api


async def _comment_text(request: Request) -> str:
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            return ""
        value = body.get("comment") if isinstance(body, dict) else None
    else:
        value = (await request.form()).get("comment")
    return value if isinstance(value, str) else ""
