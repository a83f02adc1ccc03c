"""The service catalogue as the portal shows it: the whole tree the administrators configured, with ru/en names and
descriptions, narrowed to what the client's category may use, and the check of a portal request's service.

A node is offered when it and each of its ancestors either name no client categories or name the client's, so a
restricted service hides its sub-services too. The groups behind a service are routing's business, not the client's.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter
from pydantic import BaseModel, Field

from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS
from shared.directory.routing import SERVICES, ServiceNode, catalogue_chain
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import Principal, UserRole
from ..admin.catalogue import MAX_CATALOGUE
from ..deps import Context, Ctx, CurrentPrincipal, forbidden


class PortalService(BaseModel):
    id: str
    name: dict[str, str] = Field(description="ru/en names")
    description: dict[str, str] = Field(default_factory=dict, description="ru/en: what it covers")
    sub_services: list[PortalService] = Field(default_factory=list, description="Its sub-services, by id")


class PortalCatalogue(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"items": [{
        "id": "net", "name": {"ru": "Интернет", "en": "Internet"},
        "description": {"ru": "Подключение и скорость", "en": "Connection and speed"},
        "sub_services": [{"id": "net-down", "name": {"ru": "Нет связи", "en": "No connection"},
                          "description": {}, "sub_services": []}]}]}]}}

    items: list[PortalService] = Field(description="Top-level services, by id")


async def offered(ctx: Context, p: Principal) -> dict[str, ServiceNode]:
    """The catalogue nodes this caller may choose: staff see every one, a client those his category may use."""
    nodes = {n.id: n for n in await DirectoryStore(ctx.reads.db, SERVICES).list(limit=MAX_CATALOGUE)}
    if p.role != UserRole.client:
        return nodes
    if not p.client_id:
        raise forbidden("the portal is for clients (a token with role client and a client_id claim)")
    client = await DirectoryStore(ctx.reads.db, CLIENTS).get(p.client_id)
    category = client.category if client is not None else None
    return {i: n for i, n in nodes.items()
            if all(not c.client_categories or category in c.client_categories for c in catalogue_chain(nodes, i))}


def _tree(nodes: Mapping[str, ServiceNode], parent: str | None, seen: frozenset[str]) -> list[PortalService]:
    children = sorted((n for n in nodes.values() if n.parent_id == parent and n.id not in seen), key=lambda n: n.id)
    return [PortalService(id=n.id, name=n.name, description=n.description,
                          sub_services=_tree(nodes, n.id, seen | {n.id})) for n in children]


def checked_service(nodes: Mapping[str, ServiceNode], service_id: str | None,
                    sub_service_id: str | None) -> None:
    """422 in words unless the request names an offered service and, if any, an offered sub-service of it."""
    if sub_service_id is not None and service_id is None:
        raise ProblemError(422, "Unprocessable Content", "a sub_service_id needs the service_id it belongs to")
    for node_id in (service_id, sub_service_id):
        if node_id is not None and node_id not in nodes:
            raise ProblemError(422, "Unprocessable Content", f"{node_id} is not a service you can choose; "
                               "GET /api/v1/portal/catalogue lists them")
    if sub_service_id is not None and service_id not in [n.id for n in catalogue_chain(nodes, sub_service_id)[1:]]:
        raise ProblemError(422, "Unprocessable Content", f"{sub_service_id} is not a sub-service of {service_id}")


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1/portal", tags=["portal"])

    @r.get("/catalogue", response_model=PortalCatalogue, responses=problem_responses(401, 403),
           summary="The service catalogue to choose a request's service from (clients: what their category may use)")
    async def catalogue(p: CurrentPrincipal, ctx: Ctx) -> PortalCatalogue:
        return PortalCatalogue(items=_tree(await offered(ctx, p), None, frozenset()))

    return r
