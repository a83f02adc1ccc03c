"""Which signed-in people may open an area of the console (the gateway refuses them too; this says so in words
before anything is asked of it)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from shared.runtime.problems import ProblemError

from .i18n import t
from .pages import lang_of
from .session import CurrentSession, Session

LEADS = frozenset({"team_lead", "administrator"})
ADMINS = frozenset({"administrator"})


def role_guard(roles: frozenset[str], refusal: str) -> Callable[[Request, Session], Session]:
    """A dependency: the session, or a 403 page saying ``refusal`` (a catalogue key) in the user's language."""
    def guard(request: Request, session: CurrentSession) -> Session:
        if session.role not in roles:
            raise ProblemError(403, "Forbidden", t(refusal, lang_of(request, session)))
        return session
    return guard
