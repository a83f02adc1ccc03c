"""Gateway wiring: reads the ledger's collection, sends commands, never writes ticket state."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.runtime.bodylimit import BodyLimit
from shared.runtime.clamd import scanner_status
from shared.runtime.clock import Clock, default_clock
from shared.runtime.kafka import KafkaBus
from shared.runtime.secrets import require_secret
from shared.runtime.service import service_app

from .access.auth import Authenticator
from .access.cursors import CursorCodec, cursor_key
from .access.jwks import JwksCache
from .api import reports
from .api.admin import catalogue, deliveries, directories, notifications, people
from .api.admin.classification_tree import router as classification_routes
from .api.board import router as board_routes
from .api.deps import Context
from .api.knowledge.articles import router as knowledge_routes
from .api.knowledge.files import router as knowledge_file_routes
from .api.knowledge.news import router as knowledge_news_routes
from .api.macros import router as macro_routes
from .api.portal.catalogue import router as portal_catalogue_routes
from .api.portal.guide_feedback import router as portal_extras_routes
from .api.portal.invitable import router as invitable_routes
from .api.portal.invitations import router as invitation_routes
from .api.portal.sign_in import router as sign_in_links
from .api.search import router as search_routes
from .api.tickets import actions, stream, tickets
from .api.tickets.attachments import router as attachment_routes
from .api.tickets.client_card import router as client_card_routes
from .api.tickets.macro_apply import router as macro_apply_routes
from .api.tickets.merge_split import router as merge_split_routes
from .api.tickets.tags_fields import router as tags_fields_routes
from .clients.knowledge import KnowledgeApi
from .clients.notify import NotifyApi
from .clients.search import SearchApi
from .ledger.commands import Commander
from .ledger.hub import EventHub
from .queries.sign_in_links import SignInLinks
from .queries.store import Reads
from .settings import DEV_JWT_SECRET, GatewaySettings

DESCRIPTION = """The agents', supervisors' and admins' API.

**Authentication**: `Authorization: Bearer <JWT>` (our HS256 tokens — `frontline token --user U --role R` prints
one for development — or OIDC tokens validated against the configured JWKS) or `X-API-Key` for other systems.
Roles: specialist, team_lead, administrator, client (portal).

**Actions** send a command to the ticket ledger and wait briefly for its answer: 200 with the new ticket,
409 (problem, with the ledger's `code`) when refused, 202 with the command id when the ledger is slow.

Every error is an RFC 9457 problem (`application/problem+json`).
"""


def create_app(settings: GatewaySettings | None = None, clock: Clock | None = None,
               jwks: JwksCache | None = None, notify: httpx.AsyncBaseTransport | None = None,
               search: httpx.AsyncBaseTransport | None = None,
               knowledge: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """``notify`` and ``search`` reach those services' APIs some other way than over their URLs (tests: their
    apps in process)."""
    settings = settings or GatewaySettings()
    if require_secret(settings, "GATEWAY_JWT_SECRET", settings.jwt_secret, DEV_JWT_SECRET,
                      required=not settings.jwks_url) is None:
        # OIDC only: our HS256 tokens are checked against a random key nobody holds, so none verifies.
        settings = settings.model_copy(update={"jwt_secret": secrets.token_hex(32)})
    cursors = CursorCodec(cursor_key(settings))  # production without GATEWAY_CURSOR_SECRET stops here
    clock = clock or default_clock()
    reads = Reads(settings)
    bus = KafkaBus(settings, "gateway")
    hub = EventHub(settings, reads.ticket, reads.views, buffer=settings.sse_buffer)
    notify_api = NotifyApi(settings, notify)
    search_api = SearchApi(settings, search)
    knowledge_api = KnowledgeApi(settings, knowledge)
    ctx = Context(settings=settings, clock=clock, reads=reads, auth=Authenticator(settings, clock, jwks), hub=hub,
                  commander=Commander(bus, hub, clock, settings.action_wait_seconds, reads.noop_commands,
                                      settings.noop_probe_after_seconds),
                  cursors=cursors, notify=notify_api)
    scanning = scanner_status(settings, settings.production)
    app = service_app("gateway", lambda: [reads, bus, hub, notify_api, search_api, knowledge_api],
                      ready=hub.is_running, details=lambda: scanning, title="Frontline gateway",
                      description=DESCRIPTION)
    app.state.ctx = ctx
    app.state.search = search_api
    app.state.knowledge = knowledge_api
    app.include_router(tickets.router(settings.max_page_size))
    app.include_router(client_card_routes())
    app.include_router(board_routes())
    app.include_router(actions.router())
    app.include_router(attachment_routes())
    app.include_router(tags_fields_routes())
    app.include_router(merge_split_routes())
    app.include_router(macro_routes())
    app.include_router(macro_apply_routes())
    app.include_router(people.router(settings.max_page_size))
    app.include_router(stream.router(settings.sse_max_seconds))
    app.include_router(directories.router(settings.max_page_size))
    app.include_router(reports.router(settings.max_page_size))
    app.include_router(notifications.router(settings.max_page_size))
    app.include_router(deliveries.router(settings.max_page_size))
    app.include_router(catalogue.router(settings.max_page_size))
    app.include_router(classification_routes())
    app.include_router(search_routes())
    app.include_router(knowledge_routes())
    app.include_router(knowledge_news_routes())
    app.include_router(knowledge_file_routes())
    app.include_router(sign_in_links(SignInLinks(reads.db), bus))
    app.include_router(invitation_routes(SignInLinks(reads.db), bus))
    app.include_router(invitable_routes(settings.max_page_size))
    app.include_router(portal_catalogue_routes())
    app.include_router(portal_extras_routes(settings.max_page_size))
    _document_problems(app)
    app.add_middleware(BodyLimit, limit=lambda path: body_limit(settings, path))
    return app


def body_limit(settings: GatewaySettings, path: str) -> int:
    """An upload may be larger than any other body (multipart framing around the file included)."""
    if path.rstrip("/").endswith("/attachments"):
        return settings.attachment_max_bytes + 64 * 1024
    return settings.max_body_bytes


def _document_problems(app: FastAPI) -> None:
    """OpenAPI: validation errors are problems too (FastAPI documents its own shape by default)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema.get("paths", {}).values():
            for op in path.values():
                resp = op.get("responses", {}).get("422")
                if resp and "application/json" in resp.get("content", {}):
                    resp["content"] = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
                    resp["description"] = "Invalid request (problem details with `errors`)"
        comps = schema.get("components", {}).get("schemas", {})
        comps.pop("HTTPValidationError", None)
        comps.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
