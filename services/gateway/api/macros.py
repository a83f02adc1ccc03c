"""Macros over HTTP: staff list the macros offered to them and keep their personal ones; administrators write the
shared ones. Another agent's personal macro is a 404 (its existence is his business); a shared one a non-admin may
see but not change is a 403. Every change names the version it replaces (``If-Match``, else the current one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from shared.runtime.ids import new_id
from shared.runtime.problems import ProblemError, problem_responses

from ..access.principal import STAFF, Principal
from ..macros.access import may_see, may_write
from ..macros.model import Macro, MacroIn
from ..macros.store import MacroStore
from .deps import Ctx, CurrentPrincipal, forbidden, require

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40, description="The version you read (ETag)")]


async def visible_macro(store: MacroStore, p: Principal, macro_id: str) -> Macro:
    found = await store.get(macro_id)
    if found is None or not may_see(p, found):
        raise ProblemError(404, "Not Found", f"no macro {macro_id}")
    return found


def _expected(current: Macro, if_match: str | None) -> int:
    if if_match is None or if_match.strip('"W/ ') in ("*", str(current.version)):
        return current.version
    raise ProblemError(409, "Version conflict", f"the macro is at version {current.version}, not {if_match}")


def _tagged(response: Response, macro: Macro) -> Macro:
    response.headers["ETag"] = f'"{macro.version}"'
    return macro


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/macros", tags=["macros"])

    @r.get("", response_model=list[Macro], responses=problem_responses(401, 403),
           summary="The macros offered to you: your personal ones and the shared ones of your lines and teams")
    async def list_macros(p: CurrentPrincipal, ctx: Ctx) -> list[Macro]:
        require(p, STAFF, "macros")
        return [m for m in await MacroStore(ctx.reads.db).candidates(p.user_id) if may_see(p, m)]

    @r.post("", response_model=Macro, status_code=201, responses=problem_responses(401, 403, 422),
            summary="Create a macro: personal (yours) or shared (administrators)")
    async def create(body: MacroIn, p: CurrentPrincipal, ctx: Ctx, response: Response) -> Macro:
        require(p, STAFF, "macros")
        if not may_write(p, body, None):
            raise forbidden("shared macros are written by administrators")
        now = ctx.clock.now()
        macro = Macro(**body.model_dump(), id=new_id(), owner_id=p.user_id if body.scope == "personal" else None,
                      version=1, created_by=p.user_id, created_at=now, updated_by=p.user_id, updated_at=now)
        await MacroStore(ctx.reads.db).create(macro)
        return _tagged(response, macro)

    @r.get("/{macro_id}", response_model=Macro, responses=problem_responses(401, 403, 404),
           summary="One macro you may use")
    async def get(macro_id: str, p: CurrentPrincipal, ctx: Ctx, response: Response) -> Macro:
        require(p, STAFF, "macros")
        return _tagged(response, await visible_macro(MacroStore(ctx.reads.db), p, macro_id))

    @r.put("/{macro_id}", response_model=Macro, responses=problem_responses(401, 403, 404, 409, 422),
           summary="Change a macro (yours, or a shared one if you are an administrator); its scope stays")
    async def replace(macro_id: str, body: MacroIn, p: CurrentPrincipal, ctx: Ctx, response: Response,
                      if_match: IfMatch = None) -> Macro:
        require(p, STAFF, "macros")
        store = MacroStore(ctx.reads.db)
        current = await visible_macro(store, p, macro_id)
        if not may_write(p, current, current.owner_id):
            raise forbidden("shared macros are written by administrators")
        if body.scope != current.scope:
            raise ProblemError(422, "Invalid macro", f"a {current.scope} macro stays {current.scope}: create a new one")
        expected = _expected(current, if_match)
        macro = Macro(**body.model_dump(), id=macro_id, owner_id=current.owner_id, version=expected + 1,
                      created_by=current.created_by, created_at=current.created_at, updated_by=p.user_id,
                      updated_at=ctx.clock.now())
        if not await store.replace(macro, expected):
            raise ProblemError(409, "Version conflict", "the macro was changed meanwhile: read it again")
        return _tagged(response, macro)

    @r.delete("/{macro_id}", status_code=204,
              responses=problem_responses(401, 403, 404, 409), summary="Delete a macro (its uses stay counted)")
    async def delete(macro_id: str, p: CurrentPrincipal, ctx: Ctx, if_match: IfMatch = None) -> Response:
        require(p, STAFF, "macros")
        store = MacroStore(ctx.reads.db)
        current = await visible_macro(store, p, macro_id)
        if not may_write(p, current, current.owner_id):
            raise forbidden("shared macros are written by administrators")
        if not await store.delete(macro_id, _expected(current, if_match)):
            raise ProblemError(409, "Version conflict", "the macro was changed meanwhile: read it again")
        return Response(status_code=204)

    return r
