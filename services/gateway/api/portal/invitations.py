"""Invitations of a client's contacts to the portal: a lead (for clients his teams serve) or an administrator
invites a contact by e-mail; accepting the link makes the contact's portal account with the rights set for him.

The invitation is a portal link like the sign-in one (``portal_sign_in.issue_link``: kept as its token's hash,
single use, expiring, mailed by notify with its own template); its rights ride on the link and become the
account's on acceptance, and every token minted for the contact afterwards (a sign-in link's too) carries them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.language import Language
from shared.contracts.schemas.common import Strict
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS, CONTACTS
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import LEADS, TicketAccess
from ...queries.portal_store import PortalStore
from ...queries.sign_in_links import SignInLinks
from ..deps import Ctx, CurrentPrincipal, forbidden, require
from .sign_in import Email, PortalSession, Publisher, RedeemRequest, issue_link, redeemed, session_for

INVITATION_TTL = timedelta(hours=72)  # long enough to be read after a weekend; the link still works only once
GONE = ProblemError(410, "Gone", "this invitation is unknown, used or expired: ask for a new one",
                    type="urn:frontline:invitation-gone")


class PortalRights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tickets: TicketAccess = Field("organisation", description="organisation: every ticket of the contact's client; "
                                                              "own: only the contact's own tickets")


class InvitationBody(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"contact_id": "P-1001", "rights": {"tickets": "own"}, "language": "ru"}]})

    contact_id: str = Field(min_length=1, max_length=200)
    rights: PortalRights = Field(default_factory=PortalRights)
    email: Email | None = Field(None, description="One of the contact's addresses; unset: his first")
    language: Language | None = Field(None, description="Language of the mail (ru / en); unset: notify's default")


class InvitationSent(BaseModel):
    status: str = "accepted"
    contact_id: str
    email: str
    rights: PortalRights
    expires_at: datetime


def router(links: SignInLinks, bus: Publisher) -> APIRouter:
    r = APIRouter(prefix="/api/v1/portal/invitations", tags=["portal"])

    @r.post("", status_code=202, response_model=InvitationSent, responses=problem_responses(401, 403, 404, 422),
            summary="Leads (for clients their teams serve) and administrators: invite a client's contact to the "
                    "portal by a mailed, single-use, expiring link")
    async def invite(body: InvitationBody, p: CurrentPrincipal, ctx: Ctx) -> InvitationSent:
        require(p, LEADS, "inviting to the portal")
        contact = await DirectoryStore(ctx.reads.db, CONTACTS).get(body.contact_id)
        client = await DirectoryStore(ctx.reads.db, CLIENTS).get(contact.client_id) if contact else None
        if not p.is_admin and (client is None or client.service_team_id not in p.team_ids):
            # unknown or not his: the same answer, so a lead learns nothing about other teams' contacts
            raise forbidden(f"{body.contact_id} is not a contact of a client your teams serve")
        if contact is None or client is None:
            raise ProblemError(404, "Not Found", f"no contact {body.contact_id} of a known client")
        if not client.active:
            raise ProblemError(422, "Unprocessable Content", f"client {client.id} is not active")
        if not contact.emails:
            raise ProblemError(422, "Unprocessable Content", f"contact {contact.id} has no e-mail address")
        email = body.email or contact.emails[0]
        if email not in contact.emails:
            raise ProblemError(422, "Unprocessable Content", f"{email} is not an e-mail address of contact "
                               f"{contact.id}")
        expires_at = await issue_link(ctx, links, bus, contact, client, email, body.language, "invitation",
                                      int(INVITATION_TTL.total_seconds()),
                                      {"rights": body.rights.model_dump(), "invited_by": p.user_id})
        return InvitationSent(contact_id=contact.id, email=email, rights=body.rights, expires_at=expires_at)

    @r.post("/accept", response_model=PortalSession, responses=problem_responses(410, 422),
            summary="Invited contacts: accept an invitation (once; 410 when unknown, used or expired): the portal "
                    "account is made with the rights set, and a portal session returned")
    async def accept(body: RedeemRequest, ctx: Ctx) -> PortalSession:
        contact, client, link = await redeemed(ctx, links, body.token, "invitation", GONE)
        rights = PortalRights.model_validate(link.get("rights") or {})
        await PortalStore(ctx.reads.db).save_account(contact.id, {
            "client_id": client.id, "email": link["email"], "rights": rights.model_dump(),
            "invited_by": link.get("invited_by"), "accepted_at": ctx.clock.now()})
        return session_for(ctx, contact, client, rights.tickets)

    return r
