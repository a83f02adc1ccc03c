"""``portal.events``: what the gateway tells notify about the client portal's people (no ticket involved)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.envelope import Message, message
from shared.contracts.language import Language

# What a link is for: signing a contact in, or inviting him to the portal (an account with the rights set for him).
LinkPurpose = Literal["sign_in", "invitation"]


@message("SignInLinkIssued")
class SignInLinkIssued(Message):
    """A contact asked to sign in to the portal, or was invited to it: mail him this link. Keyed by the link id.

    The url carries the link's secret token: it is the whole point of the mail. It is single use and dies at
    ``expires_at`` (the topic keeps records an hour), so what a reader of the topic could replay is short-lived.
    """

    link_id: str = Field(min_length=1, max_length=100, description="The link's id: the hash of its token")
    email: str = Field(min_length=3, max_length=320)
    name: str | None = Field(None, max_length=300, description="The contact's name, for the greeting")
    language: Language | None = Field(None, description="ru / en; unset: notify's default language")
    url: str = Field(min_length=1, max_length=2000, description="The portal's sign-in URL with the token")
    expires_at: datetime = Field(description="Past this, notify sends nothing and the gateway redeems nothing")
    purpose: LinkPurpose = Field("sign_in", description="sign_in: the sign-in mail; invitation: the invitation mail")
    organisation: str | None = Field(None, max_length=500, description="Invitations: the client organisation's name")
