"""Knowledge base search through the search service's article index (issue 23).

The gateway sends the reader's audience and client category (the ``Viewer`` it computes for the knowledge API); the
search service applies the one visibility rule before it ranks or counts, so a client's total never counts an internal
or another category's article. The hits are then read back from the knowledge service as the same viewer, which
drops whatever a stale index entry would show him. A search that leaves the reader nothing is reported to the
knowledge service, which keeps the content-gap report (one place for it).
"""

from __future__ import annotations

from fastapi import Request

from shared.contracts import knowledge_api as k
from shared.contracts.article_search import ArticleScope, ArticleSearchRequest

from ...clients.knowledge import KnowledgeApi
from ...clients.search import SearchApi


async def searched(request: Request, viewer: k.Viewer, q: str, category: str | None, tag: str | None,
                   limit: int) -> k.ArticlePage:
    search: SearchApi = request.app.state.search
    knowledge: KnowledgeApi = request.app.state.knowledge
    found = await search.articles(ArticleSearchRequest(
        q=q, scope=ArticleScope(audience=viewer.audience, client_category=viewer.client_category),
        category=category, tag=tag, limit=limit))
    ids = [hit.article_id for hit in found.hits]
    page = await knowledge.call(k.ArticlePage, "GET", "/articles", viewer, params={"ids": ids, "limit": limit}) \
        if ids else k.ArticlePage(items=[])
    shown = {a.id: a for a in page.items}
    items = [shown[h.article_id].model_copy(update={"score": round(h.score, 4), "fragments": [x.html for x in
                                                                                             h.highlights]})
             for h in found.hits if h.article_id in shown]
    if not items:
        await knowledge.call(k.Counted, "POST", "/gaps", viewer, body=k.GapIn(query=q))
    return k.ArticlePage(items=items, total=max(found.total - (len(found.hits) - len(items)), len(items)))
