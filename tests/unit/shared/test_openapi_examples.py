"""The gateway's OpenAPI is complete with examples, and the examples are real: each one validates.

Covers every registered directory (its model is the body of the admin PUT) and every JSON request
body of the gateway; builds the schema in-process, no servers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel

from services.notify.templates import draft_override, preview
from shared.contracts.knowledge_api import ArticleIn, NewsIn, StepIn, SuggestIn, VoteIn
from shared.contracts.notify_api import DraftOverride, PreviewIn
from shared.directory import load_all
from shared.directory.sla import DEFAULT_LADDER, EscalationLadder

DIRECTORIES = load_all()


def examples_of(model: type[BaseModel]) -> list[Any]:
    return list(model.model_json_schema().get("examples", []))


@cache
def openapi() -> dict[str, Any]:
    from services.gateway.app import create_app

    return create_app().openapi()


def test_some_directories_are_registered() -> None:
    assert len(DIRECTORIES) >= 16


@pytest.mark.parametrize("name", sorted(DIRECTORIES))
def test_directory_model_has_valid_examples(name: str) -> None:
    d = DIRECTORIES[name]
    examples = examples_of(d.model)
    assert examples, f"{d.model.__name__} ({name}) has no example"
    for example in examples:
        item = d.model.model_validate(example)
        assert str(getattr(item, d.key)), f"{name}: the example has no {d.key}"


@pytest.mark.parametrize("model", [PreviewIn, DraftOverride])
def test_preview_models_have_valid_examples(model: type[BaseModel]) -> None:
    examples = examples_of(model)
    assert examples
    for example in examples:
        model.model_validate(example)


def test_template_examples_render() -> None:
    """The wording shown as examples renders with the sample context of the template it overrides."""
    body = PreviewIn.model_validate(examples_of(PreviewIn)[0])
    assert body.draft is not None
    out = preview("survey", body.language, body.context, draft_override("survey", body.language, body.draft))
    assert "2077" in out.subject and "https://desk.example/s/1/good" in out.text
    saved = DIRECTORIES["templates"].model.model_validate(examples_of(DIRECTORIES["templates"].model)[0])
    language, name = saved.id.split(".")
    assert "https://desk.example/s/1/bad" in preview(name, language, override=saved).text


def test_escalation_ladder_example_is_the_default() -> None:
    assert EscalationLadder.model_validate(examples_of(EscalationLadder)[0]) == DEFAULT_LADDER


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not ref:
        return schema
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _has_example(spec: dict[str, Any], media: dict[str, Any]) -> bool:
    if media.get("example") is not None or media.get("examples"):
        return True
    schema = _resolve(spec, media.get("schema", {}))
    # an optional body is anyOf [the model, null]: the model's example is the body's
    refs = [_resolve(spec, s) for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(refs) == 1:
        schema = refs[0]
    return schema.get("example") is not None or bool(schema.get("examples"))


def test_every_json_request_body_has_an_example() -> None:
    spec = openapi()
    bodies, missing = 0, []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict):
                continue
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                if media_type != "application/json" and not media_type.endswith("+json"):
                    continue
                bodies += 1
                if not _has_example(spec, media):
                    missing.append(f"{method.upper()} {path}")
    assert bodies, "the gateway declares no JSON request body"
    assert not missing, f"JSON request bodies without an example: {missing}"


def test_every_admin_directory_put_is_in_the_openapi() -> None:
    paths = openapi()["paths"]
    for name in DIRECTORIES:
        assert "put" in paths[f"/api/v1/admin/directories/{name}/{{key}}"], name


@pytest.mark.parametrize("model", [ArticleIn, StepIn, VoteIn, SuggestIn, NewsIn])
def test_knowledge_body_examples_validate(model: type[BaseModel]) -> None:
    examples = examples_of(model)
    assert examples
    for example in examples:
        model.model_validate(example)
