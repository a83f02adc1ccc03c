"""The one Markdown renderer: an author's Markdown to HTML that is safe to put in anyone's page.

Two layers, so one mistake is not enough: markdown-it never parses raw HTML (an author's ``<script>`` is shown as
text) and drops ``javascript:``-like links; nh3 (Ammonia) then keeps only an allow-list of elements, attributes
and URL schemes from whatever markdown-it produced.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

MAX_MARKDOWN = 200_000  # characters: an article is long, a book is not; callers validate before rendering

TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
})
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"},
              "th": {"align"}, "td": {"align"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}) \
        .enable(["table", "strikethrough"])


def render_markdown(text: str) -> str:
    """Safe HTML for ``text``: only the allowed elements and attributes, links only to http(s) and mailto."""
    html = _parser().render(text)
    return nh3.clean(html, tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow",
                     strip_comments=True, clean_content_tags={"script", "style"})
