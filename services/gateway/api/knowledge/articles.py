"""The knowledge base through the gateway: articles, news, statistics, suggestions (the knowledge service's data).

The gateway decides who may write (administrators), review and publish (leads, administrators) and read the
numbers (leads, administrators); searches by words go to the search service's article index
(``knowledge_search.py``); it sends every call as the caller's ``Viewer`` (client: his organisation's
category; specialist: staff; lead or administrator: editor) and the knowledge service scopes what it answers to
that, so a client gets a 404 for an article he may not see, exactly as for one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from shared.contracts import knowledge_api as k
from shared.directory import DirectoryStore
from shared.directory.contacts import CLIENTS
from shared.runtime.problems import problem_responses

from ...access.principal import LEADS, STAFF, Principal, UserRole
from ...clients.knowledge import KnowledgeApi
from ..deps import Context, Ctx, CurrentPrincipal, forbidden, require
from ..tickets.tickets import load_visible
from .search import searched

Id = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
Word = Annotated[str | None, Query(min_length=1, max_length=200)]
Limit = Annotated[int, Query(ge=1, le=k.MAX_LIST)]
READ = problem_responses(401, 404, 422, 502, 503)
WRITE = problem_responses(401, 403, 404, 409, 422, 502, 503)
ARTICLES = "/knowledge/articles"
WRITERS = frozenset({UserRole.administrator})
SUGGESTION_TEXT = 20_000


async def viewer(ctx: Context, p: Principal) -> k.Viewer:
    if p.role != UserRole.client:
        return k.Viewer(user_id=p.user_id, audience="editor" if p.role in LEADS else "staff")
    client = await DirectoryStore(ctx.reads.db, CLIENTS).get(p.client_id) if p.client_id else None
    category = client.category if client else None
    return k.Viewer(user_id=f"client:{p.user_id}", audience="client", client_category=category)


def api(request: Request) -> KnowledgeApi:
    found: KnowledgeApi = request.app.state.knowledge
    return found


def ticket_text(doc: dict[str, Any]) -> str:
    """What a ticket is about: subject, the client's messages, the classification's names."""
    parts = [doc.get("subject") or "", *(str(v) for v in (doc.get("classification") or {}).values() if v)]
    for entry in doc.get("history") or []:
        payload = entry.get("payload") or {}
        if entry.get("type") == "TicketOpened":
            parts.append(payload.get("text") or "")
        elif entry.get("type") == "MessageReceived":
            parts.append((payload.get("content") or {}).get("text") or "")
    return " ".join(parts)[:SUGGESTION_TEXT]


def router() -> APIRouter:
    r = APIRouter(prefix="/api/v1", tags=["knowledge"])

    @r.get(ARTICLES, response_model=k.ArticlePage, responses=READ,
           summary="Articles you may see; with q, the published ones matching it, ranked, with the total and "
                   "fragments (a search finding nothing is a content gap)")
    async def articles(request: Request, p: CurrentPrincipal, ctx: Ctx, q: Annotated[str | None, Query(
            max_length=k.MAX_QUERY_CHARS)] = None, category: Word = None, tag: Word = None,
            limit: Limit = 20) -> k.ArticlePage:
        if q and q.strip():
            return await searched(request, await viewer(ctx, p), q.strip(), category, tag, limit)
        return await api(request).call(k.ArticlePage, "GET", "/articles", await viewer(ctx, p),
                                       params={"category": category, "tag": tag, "limit": limit})

    @r.get(ARTICLES + "/recent", response_model=k.ArticlePage, responses=READ, summary="Recently published")
    async def recent(request: Request, p: CurrentPrincipal, ctx: Ctx, limit: Limit = 10) -> k.ArticlePage:
        return await api(request).call(k.ArticlePage, "GET", "/articles/recent", await viewer(ctx, p),
                                       params={"limit": limit})

    @r.get(ARTICLES + "/popular", response_model=k.ArticlePage, responses=READ, summary="Most viewed")
    async def popular(request: Request, p: CurrentPrincipal, ctx: Ctx, limit: Limit = 10) -> k.ArticlePage:
        return await api(request).call(k.ArticlePage, "GET", "/articles/popular", await viewer(ctx, p),
                                       params={"limit": limit})

    @r.get(ARTICLES + "/{article_id}", response_model=k.ArticleOut, responses=READ,
           summary="One article, its Markdown rendered to safe HTML, with its votes")
    async def article(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.ArticleOut:
        return await api(request).call(k.ArticleOut, "GET", f"/articles/{article_id}", await viewer(ctx, p))

    @r.post(ARTICLES, response_model=k.ArticleOut, status_code=201, responses=WRITE,
            summary="Administrators: a new article (a draft, version 1)")
    async def create(body: k.ArticleIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.ArticleOut:
        require(p, WRITERS, "writing articles")
        write = k.ArticleWrite(article=body, actor=p.user_id)
        return await api(request).call(k.ArticleOut, "POST", "/articles", await viewer(ctx, p), body=write)

    @r.put(ARTICLES + "/{article_id}", response_model=k.ArticleOut, responses=WRITE,
           summary="Administrators: save an article as a new version (under review it returns to draft)")
    async def edit(article_id: Id, body: k.ArticleIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.ArticleOut:
        require(p, WRITERS, "writing articles")
        write = k.ArticleWrite(article=body, actor=p.user_id, can_publish=p.role in LEADS)
        return await api(request).call(k.ArticleOut, "PUT", f"/articles/{article_id}", await viewer(ctx, p),
                                       body=write)

    @r.post(ARTICLES + "/{article_id}/workflow", response_model=k.ArticleOut, responses=WRITE,
            summary="Workflow: submit and restore (administrators); publish, reject and archive (leads, admins)")
    async def move(article_id: Id, body: k.StepIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.ArticleOut:
        require(p, WRITERS if body.action in ("submit", "restore") else LEADS, f"{body.action} an article")
        return await api(request).call(k.ArticleOut, "POST", f"/articles/{article_id}/transitions",
                                       await viewer(ctx, p), body=k.TransitionIn(action=body.action, actor=p.user_id))

    @r.get(ARTICLES + "/{article_id}/versions", response_model=k.VersionPage, responses=WRITE,
           summary="Leads, administrators: every version of an article (who, when, what changed)")
    async def versions(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.VersionPage:
        require(p, LEADS, "article versions")
        return await api(request).call(k.VersionPage, "GET", f"/articles/{article_id}/versions",
                                       await viewer(ctx, p))

    @r.get(ARTICLES + "/{article_id}/stats", response_model=k.ArticleStats, responses=WRITE,
           summary="Leads, administrators: views, votes, deflections, linked tickets settled by it")
    async def stats(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.ArticleStats:
        require(p, LEADS, "article statistics")
        return await api(request).call(k.ArticleStats, "GET", f"/articles/{article_id}/stats", await viewer(ctx, p))

    @r.post(ARTICLES + "/{article_id}/views", response_model=k.Counted, responses=READ,
            summary="You read the article (counted once per person and day)")
    async def view(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.Counted:
        return await api(request).call(k.Counted, "POST", f"/articles/{article_id}/views", await viewer(ctx, p))

    @r.put(ARTICLES + "/{article_id}/vote", response_model=k.VoteOut, responses=READ,
           summary="Was this helpful (one vote per person, changeable)")
    async def vote(article_id: Id, body: k.VoteIn, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.VoteOut:
        return await api(request).call(k.VoteOut, "PUT", f"/articles/{article_id}/vote", await viewer(ctx, p),
                                       body=body)

    @r.post(ARTICLES + "/{article_id}/solved", response_model=k.Counted, responses=WRITE, tags=["portal"],
            summary="Clients: this article solved my problem (no request is opened; counted once)")
    async def solved(article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.Counted:
        require(p, {UserRole.client}, "saying an article solved a request")
        return await api(request).call(k.Counted, "POST", f"/articles/{article_id}/deflections", await viewer(ctx, p))

    @r.get("/knowledge/gaps", response_model=k.GapReport, responses=WRITE,
           summary="Leads, administrators: searches that found nothing, by normalised query")
    async def gaps(request: Request, p: CurrentPrincipal, ctx: Ctx, limit: Limit = 50) -> k.GapReport:
        require(p, LEADS, "the content-gap report")
        return await api(request).call(k.GapReport, "GET", "/gaps", await viewer(ctx, p), params={"limit": limit})

    @r.get("/tickets/{ticket_id}/suggestions", response_model=k.ArticlePage, responses=WRITE,
           summary="Staff: the articles most relevant to a ticket in your scope")
    async def suggestions(ticket_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx,
                          limit: Annotated[int, Query(ge=1, le=20)] = 5) -> k.ArticlePage:
        require(p, STAFF, "article suggestions")
        doc = await load_visible(ctx, p, ticket_id, history=True)
        text = ticket_text(doc).strip() or "-"
        return await api(request).call(k.ArticlePage, "POST", "/suggestions", await viewer(ctx, p),
                                       body=k.SuggestIn(text=text, limit=limit))

    @r.post("/portal/suggestions", response_model=k.ArticlePage, responses=WRITE, tags=["portal"],
            summary="Clients: articles you may read that match what you are typing")
    async def portal_suggestions(body: k.SuggestIn, request: Request, p: CurrentPrincipal,
                                 ctx: Ctx) -> k.ArticlePage:
        if p.role != UserRole.client:
            raise forbidden("portal suggestions are for clients")
        return await api(request).call(k.ArticlePage, "POST", "/suggestions", await viewer(ctx, p), body=body)

    @r.post("/tickets/{ticket_id}/articles/{article_id}", response_model=k.Counted, responses=WRITE,
            summary="Staff: record that an article was inserted into a reply on this ticket")
    async def link(ticket_id: Id, article_id: Id, request: Request, p: CurrentPrincipal, ctx: Ctx) -> k.Counted:
        require(p, STAFF, "linking articles to tickets")
        await load_visible(ctx, p, ticket_id)
        return await api(request).call(k.Counted, "POST", f"/articles/{article_id}/links", await viewer(ctx, p),
                                       body=k.LinkIn(ticket_id=ticket_id, actor=p.user_id))

    return r
