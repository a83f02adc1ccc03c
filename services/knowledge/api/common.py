"""What every internal route takes: the viewer from the query, and one answer for hidden and missing articles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Query

from shared.contracts.knowledge_api import Audience, Viewer
from shared.runtime.problems import ProblemError

from ..domain import Refused
from ..library import Hidden
from ..store import Conflict


def viewer(viewer: Annotated[str, Query(min_length=1, max_length=200, description="The person's id")],
           audience: Annotated[Audience, Query()],
           client_category: Annotated[str | None, Query(max_length=200, description="Clients: their category")] = None,
           ) -> Viewer:
    # Named apart from the article filter ``category`` (a catalogue id), which the same request may carry.
    return Viewer(user_id=viewer, audience=audience, client_category=client_category or None)


CurrentViewer = Annotated[Viewer, Depends(viewer)]


def not_found(article_id: str) -> ProblemError:
    return ProblemError(404, "Not Found", f"no article {article_id}")


@asynccontextmanager
async def answered(article_id: str) -> AsyncIterator[None]:
    """The library's refusals as problems: hidden or missing 404, a step the state forbids or a lost race 409."""
    try:
        yield
    except Hidden:
        raise not_found(article_id) from None
    except Refused as exc:
        raise ProblemError(409, "Not possible now", str(exc)) from None
    except Conflict:
        raise ProblemError(409, "Edited meanwhile", "the article changed since it was read; read and save it again") \
            from None
