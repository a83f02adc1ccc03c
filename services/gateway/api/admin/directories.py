"""Administrators' API over every registered directory: validated, versioned (If-Match), audited.

Routes are generated per directory at start-up from ``shared.directory`` so each one's
OpenAPI body is its own pydantic model; directories added by other services appear
without changes here.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, ValidationError, create_model

from shared.directory import AUDIT, Directory, DirectoryStore, VersionConflict, load_all
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import UserRole
from ..deps import Ctx, CurrentPrincipal, require
from .directory_checks import check_delete, check_put
from .directory_import import router as import_routes

log = logging.getLogger(__name__)
ADMIN = frozenset({UserRole.administrator})
KeyPath = Annotated[str, Field(min_length=1, max_length=200)]
# A renamed directory's former URL segment answers 308 (method and body kept) to the current path for one version,
# marked deprecated in the OpenAPI, and its audit still lists what was recorded under the old name.
FORMER_NAMES: dict[str, tuple[str, ...]] = {"notify-preferences": ("notify_preferences",)}


class DirectoryInfo(BaseModel):
    name: str
    owner: str
    description: str
    key: str
    json_schema: dict[str, Any]


class AuditEntry(BaseModel):
    directory: str
    key: str
    action: str
    actor: str
    at: datetime
    version: int | None = None
    data: dict[str, Any] | None = None


class AuditPage(BaseModel):
    items: list[AuditEntry]


def parse_if_match(value: str | None) -> int | None:
    """None → create only (expected version 0); ``*`` → unconditional; ``"N"`` → compare-and-set on N."""
    if value is None:
        return 0
    value = value.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ProblemError(400, "Bad If-Match", "If-Match must be a version number (the ETag) or *")
    return int(value)


def _entry_model(d: Directory[Any]) -> type[BaseModel]:
    safe = "".join(ch if ch.isalnum() else "_" for ch in d.name)
    return create_model(f"Dir_{safe}_Entry", key=(str, ...), version=(int, ...),
                        updated_at=(datetime | None, None), updated_by=(str | None, None),
                        data=(d.model | dict[str, Any], ...))  # type: ignore[arg-type]


def _page_model(d: Directory[Any], entry: type[BaseModel]) -> type[BaseModel]:
    safe = "".join(ch if ch.isalnum() else "_" for ch in d.name)
    return create_model(f"Dir_{safe}_Page", items=(list[entry], ...), next_cursor=(str | None, None))  # type: ignore[valid-type]


def _entry(d: Directory[Any], doc: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in doc.items() if not k.startswith("_")}
    data.setdefault(d.key, doc["_id"])
    try:
        data = d.model.model_validate(data).model_dump(mode="json")
    except ValidationError:
        log.warning("directory entry does not match its model", extra={"directory": d.name, "key": doc["_id"]})
    return {"key": str(doc["_id"]), "version": int(doc.get("_version", 0)), "updated_at": doc.get("_updated_at"),
            "updated_by": doc.get("_updated_by"), "data": data}


def _add_directory(r: APIRouter, d: Directory[Any], max_page: int) -> None:
    base = f"/admin/directories/{d.name}"
    entry, page = _entry_model(d), _page_model(d, _entry_model(d))
    model = d.model
    tag: list[str | Enum] = ["directories"]

    async def list_entries(p: CurrentPrincipal, ctx: Ctx, cursor: Annotated[str | None, Query(max_length=200)] = None,
                           limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> dict[str, Any]:
        require(p, ADMIN, "directories")
        query = {"_id": {"$gt": cursor}} if cursor else {}
        docs = [doc async for doc in ctx.reads.db[d.collection].find(query).sort("_id", 1).limit(limit + 1)]
        more = len(docs) > limit
        docs = docs[:limit]
        return {"items": [_entry(d, doc) for doc in docs], "next_cursor": str(docs[-1]["_id"]) if more else None}

    async def get_entry(key: str, p: CurrentPrincipal, ctx: Ctx, response: Response) -> dict[str, Any]:
        require(p, ADMIN, "directories")
        doc = await ctx.reads.db[d.collection].find_one({"_id": key})
        if doc is None:
            raise ProblemError(404, "Not Found", f"no {d.name} entry {key}")
        response.headers["ETag"] = f'"{int(doc.get("_version", 0))}"'
        return _entry(d, doc)

    async def put_entry(key: str, body: model, p: CurrentPrincipal, ctx: Ctx, response: Response,  # type: ignore[valid-type]
                        if_match: Annotated[str | None, Header(alias="If-Match", max_length=50)] = None,
                        ) -> dict[str, Any]:
        require(p, ADMIN, "directories")
        if str(getattr(body, d.key)) != key:
            raise ProblemError(422, "Key mismatch", f"the body's {d.key} must equal the key in the path ({key})")
        expected = parse_if_match(if_match)
        await check_put(ctx.reads.db, d, key, body)
        store = DirectoryStore(ctx.reads.db, d)
        try:
            version = await store.put(body, actor=p.user_id, at=ctx.clock.now(), expected_version=expected)
        except VersionConflict as exc:
            hint = " (send If-Match with the current version to replace it)" if if_match is None else ""
            raise ProblemError(409, "Version conflict", f"{exc}{hint}") from None
        ctx.reads.staff.forget()  # an agent's or team's change takes effect here at once (others: within the bound)
        response.headers["ETag"] = f'"{version}"'
        doc = await ctx.reads.db[d.collection].find_one({"_id": key})
        assert doc is not None
        return _entry(d, doc)

    async def delete_entry(key: str, p: CurrentPrincipal, ctx: Ctx,
                           if_match: Annotated[str | None, Header(alias="If-Match", max_length=50)] = None,
                           ) -> Response:
        require(p, ADMIN, "directories")
        coll = ctx.reads.db[d.collection]
        doc = await coll.find_one({"_id": key}, {"_version": 1})
        if doc is None:
            raise ProblemError(404, "Not Found", f"no {d.name} entry {key}")
        if if_match is not None:
            expected = parse_if_match(if_match)
            if expected is not None and expected != int(doc.get("_version", 0)):
                raise ProblemError(409, "Version conflict", f"{d.name}/{key} is at version {doc.get('_version')}")
        await check_delete(ctx.reads.db, d, key)
        if not await DirectoryStore(ctx.reads.db, d).delete(key, actor=p.user_id, at=ctx.clock.now()):
            raise ProblemError(404, "Not Found", f"no {d.name} entry {key}")
        ctx.reads.staff.forget()
        return Response(status_code=204)

    async def audit(p: CurrentPrincipal, ctx: Ctx, key: Annotated[str | None, Query(max_length=200)] = None,
                    limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> dict[str, Any]:
        require(p, ADMIN, "directories")
        names = [d.name, *FORMER_NAMES.get(d.name, ())]
        query: dict[str, Any] = {"directory": names[0] if len(names) == 1 else {"$in": names},
                                 **({"key": key} if key else {})}
        cursor = ctx.reads.db[AUDIT].find(query, {"_id": 0}).sort([("at", -1), ("_id", -1)]).limit(limit)
        return {"items": [doc async for doc in cursor]}

    errors = problem_responses(401, 403, 404, 422)
    r.add_api_route(base, list_entries, methods=["GET"], response_model=page, tags=tag,
                    responses=problem_responses(401, 403, 422), summary=f"List {d.name}: {d.description}")
    r.add_api_route(f"{base}/audit", audit, methods=["GET"], response_model=AuditPage, tags=tag,
                    responses=problem_responses(401, 403, 422), summary=f"Change log of {d.name}")
    r.add_api_route(f"{base}/{{key}}", get_entry, methods=["GET"], response_model=entry, tags=tag, responses=errors,
                    summary=f"One {d.name} entry (ETag = version)")
    r.add_api_route(f"{base}/{{key}}", put_entry, methods=["PUT"], response_model=entry, tags=tag,
                    responses=problem_responses(400, 401, 403, 409, 422),
                    summary=f"Create (no If-Match) or replace (If-Match: version) a {d.name} entry")
    r.add_api_route(f"{base}/{{key}}", delete_entry, methods=["DELETE"], status_code=204, tags=tag,
                    responses=problem_responses(400, 401, 403, 404, 409), summary=f"Delete a {d.name} entry")


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")
    directories = load_all()

    @r.get("/admin/directories", response_model=list[DirectoryInfo], tags=["directories"],
           responses=problem_responses(401, 403), summary="Every registered directory with its schema")
    async def catalogue(p: CurrentPrincipal) -> list[dict[str, Any]]:
        require(p, ADMIN, "directories")
        ordered = sorted(directories.values(), key=lambda x: x.name)
        return [{"name": d.name, "owner": d.owner, "description": d.description, "key": d.key,
                 "json_schema": d.model.model_json_schema()} for d in ordered]

    for d in sorted(directories.values(), key=lambda x: x.name):
        _add_directory(r, d, max_page)
        for former in FORMER_NAMES.get(d.name, ()):
            _add_redirects(r, d, former)
    r.include_router(import_routes())
    return r


def _redirect(target: str, keyed: bool) -> Callable[..., Awaitable[Response]]:
    async def moved(request: Request, p: CurrentPrincipal) -> Response:
        require(p, ADMIN, "directories")  # the old path is no way around the directory's guard
        path = f"{target}/{quote(request.path_params['key'], safe='')}" if keyed else target
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{path}{query}", status_code=308)
    return moved


def _add_redirects(r: APIRouter, d: Directory[Any], former: str) -> None:
    old, new = f"/admin/directories/{former}", f"{r.prefix}/admin/directories/{d.name}"
    responses: dict[int | str, dict[str, Any]] = {308: {"description": f"Moved to {new}"},
                                                  **problem_responses(401, 403)}
    common: dict[str, Any] = {"status_code": 308, "deprecated": True, "tags": ["directories"],
                              "responses": responses, "response_class": RedirectResponse}
    note = f"Deprecated: the old path of {d.name}, redirects there (308) until the next version"
    safe = "".join(ch if ch.isalnum() else "_" for ch in former)
    for label, path, target, keyed, methods in (
            ("list", old, new, False, ("GET",)), ("audit", f"{old}/audit", f"{new}/audit", False, ("GET",)),
            ("entry", f"{old}/{{key}}", new, True, ("GET", "PUT", "DELETE"))):
        for method in methods:
            r.add_api_route(path, _redirect(target, keyed), methods=[method], summary=note,
                            operation_id=f"moved_{safe}_{label}_{method.lower()}", **common)
