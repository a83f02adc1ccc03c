"""Validation problems stay small and cheap whatever the body, and an undecodable body is a documented 422."""

from __future__ import annotations

import json
import time

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from shared.contracts.schemas.common import Sender, Strict
from shared.runtime.problems import MAX_REPORTED_ERRORS, ProblemError, install_problem_handlers, problem_responses


class Item(BaseModel):
    name: str = Field(max_length=10)
    count: int = 0


class Loose(BaseModel):
    """A model that reports every error: many list items, each invalid."""

    names: list[Item]


class Tight(Strict):
    name: str
    sender: Sender | None = None


def app() -> FastAPI:
    a = FastAPI()
    install_problem_handlers(a)

    @a.post("/loose", responses=problem_responses(422))
    async def loose(body: Loose) -> dict[str, int]:
        return {"n": len(body.names)}

    @a.post("/tight", responses=problem_responses(422))
    async def tight(body: Tight) -> dict[str, str]:
        return {"name": body.name}

    return a


async def post(path: str, content: bytes) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://t", timeout=120) as h:
        return await h.post(path, content=content, headers={"content-type": "application/json"})


async def test_many_errors_are_capped_with_a_count_of_the_rest() -> None:
    body = json.dumps({"names": [{"name": "x" * 20} for _ in range(5000)]}).encode()
    resp = await post("/loose", body)
    problem = resp.json()
    assert resp.status_code == 422 and resp.headers["content-type"].startswith("application/problem+json")
    assert len(problem["errors"]) == MAX_REPORTED_ERRORS
    assert problem["errors_truncated"] == 5000 - MAX_REPORTED_ERRORS
    assert problem["errors"][0]["loc"] == ["body", "names", 0, "name"]


async def test_a_hundred_thousand_unknown_fields_get_one_small_problem() -> None:
    fields = {f"f{i:06d}": 1 for i in range(100_000)}
    for body in ({"name": "a", **fields}, {"name": "a", "sender": {"email": "a@b.example", **fields}}):
        raw = json.dumps(body).encode()
        assert len(raw) > 1_300_000
        t0 = time.perf_counter()
        resp = await post("/tight", raw)
        elapsed = time.perf_counter() - t0
        assert resp.status_code == 422, resp.text[:300]
        assert len(resp.content) < 2_000, len(resp.content)
        problem = resp.json()
        assert len(problem["errors"]) == 1 and "unknown fields" in problem["errors"][0]["msg"], problem
        print(f"100,000 unknown fields: {len(resp.content)} byte problem in {elapsed:.3f} s")  # for the report


async def test_a_few_unknown_fields_are_each_named() -> None:
    resp = await post("/tight", json.dumps({"name": "a", "x": 1, "y": 2}).encode())
    assert resp.status_code == 422
    assert sorted(e["loc"][-1] for e in resp.json()["errors"]) == ["x", "y"]


UNDECODABLE = [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[" * 3000 + b"]" * 3000,  # nested deeper than the parser recurses
    b'{"name": 1' + b"0" * 5000 + b"}",  # an integer longer than Python converts
]


async def test_undecodable_bodies_are_422_json_invalid_problems() -> None:
    for raw in UNDECODABLE:
        resp = await post("/tight", raw)
        assert resp.status_code == 422, (raw[:20], resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        errors = resp.json()["errors"]
        assert [e["type"] for e in errors] == ["json_invalid"], (raw[:20], errors)


def test_422_and_its_truncation_count_are_documented() -> None:
    doc = app().openapi()
    responses = doc["paths"]["/tight"]["post"]["responses"]
    assert "application/problem+json" in responses["422"]["content"]
    assert "400" not in responses
    assert "errors_truncated" in doc["components"]["schemas"]["Problem"]["properties"]


def test_a_problem_keeps_its_type_uri() -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refused")
    async def refused() -> None:
        raise ProblemError(409, "Command rejected", "already claimed", type="urn:frontline:command-rejected")

    body = TestClient(app).get("/refused").json()
    assert body["type"] == "urn:frontline:command-rejected"
    assert body["status"] == 409 and body["detail"] == "already claimed"
