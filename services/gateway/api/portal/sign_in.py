"""The client portal's sign-in by e-mailed link: ask for a link (no authentication), redeem it for a client token;
and the one way every portal link (sign-in or invitation) is issued, mailed and turned into a session.

Asking always answers the same 202, whether or not the address is a contact's: the lookup, the link and the
record for notify happen after the answer is sent (a background task), so neither the body nor the time tells.
The rate limits count every request alike, known address or not. A link is single use and short-lived; what it
yields is an ordinary client token (role ``client``, the contact's client, and the ticket access of his portal
account if an invitation made one), scoped like any other.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field, StringConstraints

from shared.contracts.envelope import Envelope, envelope_for
from shared.contracts.language import Language
from shared.contracts.schemas.common import Strict
from shared.contracts.schemas.portal import LinkPurpose, SignInLinkIssued
from shared.contracts.tokens import mint_token
from shared.contracts.topics import PORTAL_EVENTS, TopicSpec
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS, Client, ContactPerson
from shared.runtime.peers import client_address, networks
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import TicketAccess, UserRole
from ...queries.portal_store import PortalStore
from ...queries.sign_in_links import SignInLinks, digest
from ..deps import Context, Ctx

log = logging.getLogger(__name__)
# token_urlsafe(32): 256 random bits as 43 URL-safe characters; anything else is malformed (422).
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3, max_length=320,
                                         pattern=r"^[^@\s]+@[^@\s]+$")]


class Publisher(Protocol):
    async def publish(self, spec: TopicSpec, env: Envelope) -> None: ...


class SignInLinkRequest(Strict):
    model_config = {"json_schema_extra": {"examples": [{"email": "anna@vector-tour.example", "language": "ru"}]}}

    email: Email = Field(description="The address the link is mailed to, if it is a client contact's")
    language: Language | None = Field(None, description="Language of the mail (ru / en); unset: notify's default")


class SignInLinkAccepted(BaseModel):
    status: str = "accepted"
    detail: str


class RedeemRequest(Strict):
    model_config = {"json_schema_extra": {"examples": [{"token": "Q2hvb3NlIGEgbG9uZyByYW5kb20gdG9rZW4gaGVyZQ0"}]}}

    token: Token = Field(description="The token of the sign-in link (the `token` query parameter)")


class PortalSession(BaseModel):
    access_token: str = Field(description="A bearer token for the gateway: role client, the contact's client, "
                                          "and his ticket access")
    token_type: str = "bearer"
    expires_at: datetime


GONE = ProblemError(410, "Gone", "this sign-in link is unknown, used or expired: ask for a new one",
                    type="urn:frontline:sign-in-link-gone")


def router(links: SignInLinks, bus: Publisher) -> APIRouter:
    r = APIRouter(prefix="/api/v1/portal", tags=["portal"])

    @r.post("/sign-in-links", status_code=202, response_model=SignInLinkAccepted,
            responses=problem_responses(422, 429),
            summary="Clients: mail me a sign-in link (no authentication; the same answer for any address)")
    async def ask(body: SignInLinkRequest, request: Request, ctx: Ctx, later: BackgroundTasks) -> SignInLinkAccepted:
        s, now = ctx.settings, ctx.clock.now()
        peer = request.client.host if request.client else "unknown"
        ip = client_address(peer, request.headers.get("x-forwarded-for", ""), networks(s.trusted_proxies))
        address = digest(body.email)
        for by, value, limit in (("address", address, s.sign_in_links_per_address),
                                 ("ip", ip, s.sign_in_links_per_ip)):
            wait = await links.retry_after(by, value, limit, now)  # type: ignore[arg-type]
            if wait is not None:
                raise ProblemError(429, "Too Many Requests", f"too many sign-in links asked for; try again in "
                                   f"{wait} s", headers={"Retry-After": str(wait)})
        await links.record_request(address, ip, now)
        later.add_task(_issue, ctx, links, bus, body)
        minutes = s.sign_in_link_ttl_seconds // 60
        return SignInLinkAccepted(detail=f"If the address is a client contact's, a sign-in link is on its way; "
                                         f"it works once, for {minutes} minutes.")

    @r.post("/sign-in-links/redeem", response_model=PortalSession, responses=problem_responses(410, 422),
            summary="Clients: exchange a sign-in link's token for a portal session (once; 410 when unknown, used "
                    "or expired)")
    async def redeem(body: RedeemRequest, ctx: Ctx) -> PortalSession:
        contact, client, _ = await redeemed(ctx, links, body.token, "sign_in")
        account = await PortalStore(ctx.reads.db).account(contact.id)
        access: TicketAccess = "own" if account and account.get("rights", {}).get("tickets") == "own" \
            else "organisation"
        return session_for(ctx, contact, client, access)

    return r


async def redeemed(ctx: Context, links: SignInLinks, token: str, purpose: LinkPurpose,
                   gone: ProblemError = GONE) -> tuple[ContactPerson, Client, dict[str, Any]]:
    """The contact, client and link behind a token spent now; :data:`GONE` unless it was a live link for
    ``purpose`` and the directory still makes its address this active client's contact's (else ``gone``)."""
    link = await links.redeem(digest(token), ctx.clock.now(), purpose)
    if link is None:
        raise gone
    contact = await DirectoryStore(ctx.reads.db, CONTACTS).get(link["contact_id"])
    client = await DirectoryStore(ctx.reads.db, CLIENTS).get(link["client_id"])
    if contact is None or contact.client_id != link["client_id"] or link["email"] not in contact.emails \
            or client is None or not client.active:
        raise gone
    return contact, client, link


def session_for(ctx: Context, contact: ContactPerson, client: Client, access: TicketAccess) -> PortalSession:
    now = ctx.clock.now()
    ttl = min(ctx.settings.portal_token_ttl_seconds, ctx.settings.max_token_lifetime_seconds)
    token = mint_token(ctx.settings, contact.id, UserRole.client.value, clock=ctx.clock, client_id=client.id,
                       name=contact.name, ttl_seconds=ttl, extra={"ticket_access": access})
    return PortalSession(access_token=token, expires_at=datetime.fromtimestamp(int(now.timestamp()) + ttl,
                                                                               tz=now.tzinfo))


async def issue_link(ctx: Context, links: SignInLinks, bus: Publisher, contact: ContactPerson, client: Client,
                     email: str, language: Language | None, purpose: LinkPurpose, ttl_seconds: int,
                     extra: dict[str, Any] | None = None) -> datetime:
    """A new single-use link for ``contact`` (kept as its hash, with ``extra``), sent to notify to mail; its expiry."""
    now = ctx.clock.now()
    token = secrets.token_urlsafe(32)
    link_id = digest(token)
    expires_at = now + timedelta(seconds=ttl_seconds)
    await links.create(link_id, {"contact_id": contact.id, "client_id": client.id, "email": email, **(extra or {})},
                       now, expires_at, purpose)
    page = "invitation" if purpose == "invitation" else "link"
    url = f"{ctx.settings.portal_url.rstrip('/')}/portal/{page}?token={token}"
    msg = SignInLinkIssued(link_id=link_id, email=email, name=contact.name, language=language, url=url,
                           expires_at=expires_at, purpose=purpose,
                           organisation=client.name if purpose == "invitation" else None)
    await bus.publish(PORTAL_EVENTS, envelope_for(msg, link_id, occurred_at=now, actor="gateway"))
    return expires_at


async def _issue(ctx: Context, links: SignInLinks, bus: Publisher, body: SignInLinkRequest) -> None:
    """After the answer: a link for the address's one contact of an active client, mailed through notify."""
    try:
        contacts = await DirectoryStore(ctx.reads.db, CONTACTS).list({"emails": body.email}, limit=2)
        if len(contacts) != 1:  # nobody's, or several people's: no one is signed in by guess
            if contacts:
                log.warning("sign-in link refused: the address belongs to several contacts")
            return
        contact = contacts[0]
        client = await DirectoryStore(ctx.reads.db, CLIENTS).get(contact.client_id)
        if client is None or not client.active:
            return
        await issue_link(ctx, links, bus, contact, client, body.email, body.language, "sign_in",
                         ctx.settings.sign_in_link_ttl_seconds)
    except Exception:  # the caller has had his answer; the link is simply not sent (he may ask again)
        log.exception("issuing a sign-in link failed")
