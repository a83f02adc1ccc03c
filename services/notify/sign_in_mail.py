"""Portal sign-in links and invitations (``portal.events``): rendered and mailed to the contact at once, never queued.

The link is the mail's whole content and a secret until used or expired, so notify keeps it nowhere (a queued
delivery would keep its text in ``notify_deliveries``, and its outcome belongs to no ticket). A send that may
succeed later raises, so the record pipeline retries it and then dead-letters it; one that never will is parked
at once. A link that has expired is not sent. A redelivered record may mail the same link twice: it works once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from shared.contracts.envelope import Envelope, Message
from shared.contracts.schemas.portal import SignInLinkIssued
from shared.directory.notify import TemplateOverride
from shared.runtime.clock import Clock, as_utc
from shared.runtime.kafka import Poison

from .dispatcher import Sender
from .errors import SendError
from .settings import NotifySettings
from .templates import Rendered, TemplateRenderError, render

log = logging.getLogger(__name__)
TEMPLATES = {"sign_in": "sign_in_link", "invitation": "invitation"}  # by the link's purpose


class Templates(Protocol):
    async def template(self, name: str, language: str) -> TemplateOverride | None: ...


class SignInMailer:
    def __init__(self, email: Callable[[], Sender], templates: Templates, clock: Clock,
                 settings: NotifySettings) -> None:
        self.email, self.templates, self.clock, self.s = email, templates, clock, settings

    async def on_link(self, item: tuple[Envelope, Message]) -> None:
        env, msg = item
        if not isinstance(msg, SignInLinkIssued):
            raise Poison(f"portal.events carries no {env.type}")
        expires_at = as_utc(msg.expires_at)
        if expires_at <= self.clock.now():
            log.info("sign-in link expired before it could be mailed", extra={"link_id": msg.link_id[:12]})
            return
        language = msg.language or self.s.default_language
        lifetime = (expires_at - as_utc(env.occurred_at)).total_seconds()
        context = {"client_name": msg.name, "link_url": msg.url, "organisation_name": msg.organisation,
                   "expires_minutes": max(1, round(lifetime / 60)), "expires_hours": max(1, round(lifetime / 3600))}
        rendered = await self._render(TEMPLATES[msg.purpose], language, context)
        doc = {"_id": env.id, "address": msg.email, "subject": rendered.subject, "text": rendered.text,
               "html": rendered.html, "language": language, "automatic": True, "channel": "email"}
        sender = self.email()
        try:
            await sender.send(doc)
        except SendError as exc:
            if exc.permanent:
                raise Poison(exc.reason) from exc
            raise
        finally:
            await sender.close()

    async def _render(self, template: str, language: str, context: dict[str, Any]) -> Rendered:
        """An administrator's wording when it renders; the shipped one otherwise (the client must get his link)."""
        override = await self.templates.template(template, language)
        if override is not None:
            try:
                return render(template, language, context, override)
            except TemplateRenderError as exc:
                log.error("template override cannot be rendered; using the shipped template",
                          extra={"template": override.id, "error": str(exc)})
        try:
            return render(template, language, context)
        except TemplateRenderError as exc:
            raise Poison(str(exc)) from exc
