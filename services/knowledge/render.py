"""An article's or news item's Markdown as safe HTML: the desk's one renderer (``shared/runtime/markdown.py``:
raw HTML off, an nh3 allow-list, http/https/mailto links with rel nofollow), then one rule of the knowledge base's
own on the same allow-list: an image shows only from this desk's article files, and a relative link leads only
there (an outside image would report who reads the article; a link into the desk's API is a trap)."""

from __future__ import annotations

import html
import re

import nh3

from shared.contracts.knowledge_api import FILE_URL_PREFIX
from shared.runtime.markdown import ATTRIBUTES, TAGS, URL_SCHEMES, render_markdown

OWN_FILE = re.compile(rf"^{re.escape(FILE_URL_PREFIX)}[A-Za-z0-9_-]{{1,100}}$")


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        return value if OWN_FILE.match(value) else None
    if tag == "a" and name == "href" and value.startswith("/") and not OWN_FILE.match(value):
        return None
    return value


def render(markdown: str) -> str:
    return nh3.clean(render_markdown(markdown), tags=set(TAGS), attributes={k: set(v) for k, v in ATTRIBUTES.items()},
                     attribute_filter=_attribute, url_schemes=set(URL_SCHEMES),
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def plain_text(markdown: str) -> str:
    """What a reader sees of the Markdown, as text (the search index's words): the rendered HTML without its tags."""
    return html.unescape(nh3.clean(render(markdown), tags=set()))
