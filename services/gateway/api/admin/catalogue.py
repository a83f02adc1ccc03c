"""The service catalogue as the agents' pickers need it: a service's sub-services, a sub-service's groups.

The narrowing rule is routing's directory rule (``shared.directory.routing.narrow_catalogue``), so a picker
never offers a group that routing would not use for the sub-service.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from shared.directory import DirectoryStore
from shared.directory.routing import (
    GROUPS,
    SERVICES,
    NotASubService,
    UnknownService,
    narrow_catalogue,
)
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import STAFF
from ..deps import Ctx, CurrentPrincipal, require

MAX_CATALOGUE = 10_000  # entries read per call: the catalogue is an admin-edited tree, not a growing log
Id = Annotated[str | None, Query(min_length=1, max_length=200)]


class CatalogueService(BaseModel):
    id: str
    name: dict[str, str] = Field(description="ru/en names")
    service_type: str | None = None
    has_sub_services: bool = Field(description="Picking it narrows further")


class CatalogueGroup(BaseModel):
    id: str
    name: dict[str, str] = Field(default_factory=dict, description="Empty when the groups directory lacks it")
    line_id: str | None = Field(None, description="Null when the groups directory lacks it")


class CatalogueView(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "service_id": "air", "sub_service_id": "air-exchange",
        "sub_services": [{"id": "air-exchange", "name": {"en": "Air ticket exchange and refund"},
                          "service_type": "air", "has_sub_services": False}],
        "groups": [{"id": "first-travel", "name": {"en": "Travel desk"}, "line_id": "first"}],
        "next_cursor": None, "limit": 100}]}}

    service_id: str | None
    sub_service_id: str | None
    sub_services: list[CatalogueService] = Field(description="The service's sub-services (top-level services when "
                                                             "no service is given), by id")
    groups: list[CatalogueGroup] = Field(description="Groups allowed for the sub-service (or the service)")
    next_cursor: str | None = Field(None, description="Pass as `cursor` for more sub-services; null on the last page")
    limit: int


def router(max_page: int) -> APIRouter:
    r = APIRouter(prefix="/api/v1")

    @r.get("/catalogue", response_model=CatalogueView, tags=["catalogue"],
           responses=problem_responses(401, 403, 404, 422),
           summary="Narrow the service catalogue: a service's sub-services, a sub-service's allowed groups")
    async def catalogue(p: CurrentPrincipal, ctx: Ctx, service_id: Id = None, sub_service_id: Id = None,
                        cursor: Annotated[str | None, Query(max_length=200, description="Last sub-service id seen")]
                        = None, limit: Annotated[int, Query(ge=1, le=max_page)] = 100) -> CatalogueView:
        require(p, STAFF, "the service catalogue")
        services = {n.id: n for n in await DirectoryStore(ctx.reads.db, SERVICES).list(limit=MAX_CATALOGUE)}
        try:
            choice = narrow_catalogue(services, service_id, sub_service_id)
        except UnknownService as exc:
            raise ProblemError(404, "Not Found", f"no service {exc.args[0]} in the catalogue") from None
        except NotASubService as exc:
            raise ProblemError(422, "Not a sub-service", str(exc)) from None
        parents = {n.parent_id for n in services.values()}
        page = [n for n in choice.sub_services if cursor is None or n.id > cursor]
        more, page = len(page) > limit, page[:limit]
        known = {g.id: g for g in await DirectoryStore(ctx.reads.db, GROUPS).list(
            {"_id": {"$in": choice.group_ids}}, limit=len(choice.group_ids) or 1)}
        groups = [CatalogueGroup(id=g, name=known[g].name, line_id=known[g].line_id) if g in known
                  else CatalogueGroup(id=g) for g in choice.group_ids]
        return CatalogueView(
            service_id=service_id, sub_service_id=sub_service_id, limit=limit, groups=groups,
            sub_services=[CatalogueService(id=n.id, name=n.name, service_type=n.service_type,
                                           has_sub_services=n.id in parents) for n in page],
            next_cursor=page[-1].id if more else None)

    return r
