"""The administrator's directory forms, built from each directory's JSON schema (as GET /admin/directories gives
it): which input each field gets, how a posted form becomes the entry's JSON, and which field each of the gateway's
422 errors belongs next to."""

from __future__ import annotations

import re

import httpx
from console_fakes import HTML, console, signed_in
from fastapi.testclient import TestClient
from starlette.datastructures import FormData

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from services.console.views.admin_forms import errors_by_field, form_fields, form_values, read_form
from shared.directory.routing import AGENTS, LINES
from shared.directory.sla import POLICIES as SLA_POLICIES

LINE_SCHEMA = LINES.model.model_json_schema()


def by_name(schema: dict[str, object], key: str = "id") -> dict[str, object]:
    return {f.name: f for f in form_fields(schema, key)}  # type: ignore[arg-type]


def form(*pairs: tuple[str, str]) -> FormData:
    return FormData(list(pairs))


def test_scalars_are_inputs_enums_selects_lists_one_per_line_and_nested_data_json() -> None:
    line = by_name(LINE_SCHEMA)
    assert [(f.kind, f.required, f.key) for f in [line["id"], line["order"]]] == [("text", True, True),
                                                                                 ("number", True, False)]
    assert line["order"].integer and line["name"].kind == "names"
    assert line["client_choices"].kind == "multi"
    assert line["client_choices"].options == ("technical", "plain", "not_technical")
    assert line["escalates_to"].kind == "text" and line["escalates_to"].nullable
    agent = by_name(AGENTS.model.model_json_schema())
    assert agent["availability"].kind == "select" and "vacation" in agent["availability"].options
    assert agent["availability"].default == "online"
    assert agent["roles"].kind == "multi" and agent["line_ids"].kind == "list"
    assert agent["shifts"].kind == "json"  # a list of objects
    policy = by_name(SLA_POLICIES.model.model_json_schema())
    assert policy["targets"].kind == "json" and policy["active"].kind == "checkbox"
    assert policy["warning_share"].kind == "number" and policy["warning_share"].nullable
    assert not policy["warning_share"].integer


def test_a_posted_form_becomes_the_entrys_json() -> None:
    fields = form_fields(LINE_SCHEMA, "id")
    body, errors = read_form(fields, form(("f.id", " second "), ("f.name.en", "Second line"), ("f.name.ru", ""),
                                          ("f.order", "2"), ("f.client_choices", "plain"),
                                          ("f.client_choices", "technical"), ("f.escalates_to", "")))
    assert errors == {}
    assert body == {"id": "second", "name": {"en": "Second line"}, "order": 2,
                    "client_choices": ["plain", "technical"], "escalates_to": None}
    agent = form_fields(AGENTS.model.model_json_schema(), "id")
    body, errors = read_form(agent, form(("f.id", "x"), ("f.name", "X"), ("f.line_ids", "first\nsecond, third\n"),
                                         ("f.shifts", "[{not json"), ("f.availability", "lunch")))
    assert body["line_ids"] == ["first", "second", "third"] and body["availability"] == "lunch"
    assert set(errors) == {"shifts"}  # JSON that does not parse is refused here, next to its field
    policy = form_fields(SLA_POLICIES.model.model_json_schema(), "id")
    body, _ = read_form(policy, form(("f.id", "p"), ("f.targets", '{"resolution": 3600}'), ("f.warning_share", "")))
    assert body["active"] is False and body["targets"] == {"resolution": 3600} and body["warning_share"] is None


def test_what_the_browser_cannot_check_is_left_to_the_gateway() -> None:
    """A required number left empty is not sent and a word in a number field is sent as it is, so the gateway's
    422 names the field; the key is required here, since it is the address the entry is saved at."""
    body, errors = read_form(form_fields(LINE_SCHEMA, "id"), form(("f.id", ""), ("f.order", "first")))
    assert "order" in body and body["order"] == "first" and errors == {"id": errors["id"]}
    body, _ = read_form(form_fields(LINE_SCHEMA, "id"), form(("f.id", "l"), ("f.order", "")))
    assert "order" not in body


def test_an_entry_shown_in_its_form_reads_back_unchanged() -> None:
    fields = form_fields(AGENTS.model.model_json_schema(), "id")
    entry = AGENTS.model(id="ann", name="Ann", roles=["specialist", "team_lead"], line_ids=["first", "second"],
                         shifts=[{"weekday": 0, "start": "09:00", "end": "18:00"}]).model_dump(mode="json")
    values = form_values(fields, entry)
    pairs: list[tuple[str, str]] = []
    for f in fields:
        value = values[f.name]
        if f.kind == "names":
            pairs += [(f"f.{f.name}.{lang}", v) for lang, v in value.items()]
        elif f.kind == "multi":
            pairs += [(f"f.{f.name}", v) for v in value]
        elif f.kind == "checkbox":
            pairs += [(f"f.{f.name}", "on")] if value else []
        else:
            pairs.append((f"f.{f.name}", value))
    body, errors = read_form(fields, form(*pairs))
    assert errors == {} and AGENTS.model.model_validate(body).model_dump(mode="json") == entry


def test_the_gateways_errors_go_next_to_their_field_and_the_rest_to_a_banner() -> None:
    fields = form_fields(SLA_POLICIES.model.model_json_schema(), "id")
    errors = [{"loc": ["body", "targets", "resolution"], "msg": "Input should be a valid integer"},
              {"loc": ["body", "calendar_id"], "msg": "Field required"},
              {"loc": ["body"], "msg": "JSON decode error"}, {"loc": ["query", "x"], "msg": "odd"}]
    placed, rest = errors_by_field(fields, errors)
    assert placed == {"targets": "resolution: Input should be a valid integer", "calendar_id": "Field required"}
    assert rest == ["JSON decode error", "x: odd"]


CATALOGUE = [{"name": "lines", "owner": "routing", "description": "Support lines", "key": "id",
              "json_schema": LINE_SCHEMA}]
UNPROCESSABLE = httpx.Response(422, json={"title": "Unprocessable", "status": 422, "errors": [
    {"loc": ["body", "order"], "msg": "Field required", "type": "missing"}]})


def test_the_create_form_shows_the_gateways_error_next_to_its_field() -> None:
    routes = {"GET /api/v1/admin/directories": CATALOGUE, "PUT /api/v1/admin/directories/lines/third": UNPROCESSABLE}
    with console(routes) as c:
        csrf = signed_in(c, "administrator", "root")
        page = c.get("/admin/directories/lines/new", headers=HTML)
        assert page.status_code == 200
        assert re.search(r'<label for="f-order">[^<]*Order', page.text)
        answer = c.post("/admin/directories/lines/new", headers=HTML,
                        data={"csrf_token": csrf, "f.id": "third", "f.order": ""})
        assert answer.status_code == 422
        field = re.search(r'<input[^>]*id="f-order"[^>]*>', answer.text)
        assert field and 'aria-invalid="true"' in field.group(0) and 'aria-describedby="f-order-error' in field.group(0)
        assert re.search(r'id="f-order-error"[^>]*>[^<]*Field required', answer.text)
        assert 'value="third"' in answer.text  # what was typed stays in the form


def test_a_version_conflict_is_said_in_words() -> None:
    entry = {"key": "first", "version": 3, "data": {"id": "first", "order": 1, "name": {}, "client_choices": []}}
    conflict = httpx.Response(409, json={"title": "Version conflict", "status": 409, "detail": "lines/first is at 4"})
    routes = {"GET /api/v1/admin/directories": CATALOGUE, "GET /api/v1/admin/directories/lines/first": entry,
              "PUT /api/v1/admin/directories/lines/first": conflict}
    with console(routes) as c:
        csrf = signed_in(c, "administrator", "root")
        page = c.get("/admin/directories/lines/entries/first", headers=HTML)
        assert 'name="version" value="3"' in page.text
        answer = c.post("/admin/directories/lines/entries/first", headers=HTML,
                        data={"csrf_token": csrf, "version": "3", "f.id": "first", "f.order": "1"})
        assert answer.status_code == 409 and "Someone else saved this entry" in answer.text


def test_the_import_form_sends_the_file_to_the_gateway_and_shows_each_refused_row() -> None:
    sent: list[bytes] = []
    report = {"rows": 3, "imported": 2, "failed": 1,
              "errors": [{"row": "line 4", "reason": "client_id is required"}],
              "counts": {"clients": {"created": 1, "updated": 0, "unchanged": 0}}}

    def gateway(request: httpx.Request) -> httpx.Response:
        assert f"{request.method} {request.url.path}" == "POST /api/v1/admin/import/contacts"
        sent.append(request.read())
        return httpx.Response(200, json=report)

    with TestClient(create_app(ConsoleSettings(), transport=httpx.MockTransport(gateway))) as c:
        csrf = signed_in(c, "administrator", "root")
        page = c.get("/admin/import", headers=HTML)
        assert page.status_code == 200 and re.search(r'<label for="import-file">', page.text)
        answer = c.post("/admin/import", headers=HTML, data={"csrf_token": csrf},
                        files={"file": ("clients.csv", b"client_id,client_name\nc1,One\n", "text/csv")})
    assert answer.status_code == 200, answer.text
    assert b'filename="clients.csv"' in sent[0] and b"c1,One" in sent[0]
    assert "line 4" in answer.text and "client_id is required" in answer.text
    assert re.search(r"2 of 3 rows imported", answer.text)


def test_a_template_is_edited_beside_its_preview_and_a_bad_draft_is_refused_next_to_its_field() -> None:
    preview = {"name": "survey", "language": "en", "subject": "How did we do on #2077?", "text": "Rate us", "html": ""}
    bad = httpx.Response(422, json={"title": "Invalid template", "status": 422, "errors": [
        {"loc": ["body", "draft", "subject"], "msg": "unknown variable 'nope'", "type": "template"}]})
    routes = {"GET /api/v1/templates": {"items": [{"name": "survey", "overridden": ["ru"]}], "languages": ["en", "ru"]},
              "GET /api/v1/templates/survey/preview": preview, "POST /api/v1/templates/survey/preview": bad}
    with console(routes) as c:
        csrf = signed_in(c, "administrator", "root")
        listing = c.get("/admin/templates", headers=HTML)
        assert listing.status_code == 200 and 'href="/admin/templates/survey/en"' in listing.text
        page = c.get("/admin/templates/survey/en", headers=HTML)  # no override yet: the shipped wording is used
        assert page.status_code == 200 and "How did we do on #2077?" in page.text and "shipped wording" in page.text
        draft = c.post("/admin/templates/survey/en", headers=HTML, data={
            "csrf_token": csrf, "action": "preview", "subject": "{{ nope }}", "text": "Rate us"})
        assert draft.status_code == 422
        assert re.search(r'id="tpl-subject-error"[^>]*>[^<]*unknown variable', draft.text)
        assert "{{ nope }}" in draft.text  # the draft stays in the form
        assert c.get("/admin/templates/../etc/en", headers=HTML).status_code == 404
