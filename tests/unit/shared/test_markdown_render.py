"""The one Markdown renderer: Markdown becomes HTML, and nothing an author types runs in a reader's browser."""

from html.parser import HTMLParser

import pytest

from shared.runtime.markdown import render_markdown

HOSTILE = [
    "<script>alert(1)</script>",
    "<iframe src='https://evil.example'></iframe>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href='https://ok.example' onclick='alert(1)'>x</a>",
    "<svg onload=alert(1)>",
    "<style>body{display:none}</style>",
    "<object data='x.swf'></object><embed src='x.swf'>",
    "<form action='https://evil.example'><input name=p></form>",
    '<div style="background:url(javascript:alert(1))">x</div>',
]


def test_markdown_becomes_html() -> None:
    html = render_markdown("# Title\n\nSome **bold** and a [link](https://example.org/a?b=1).\n\n- one\n- two")
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org/a?b=1"' in html
    assert "<li>one</li>" in html


class Elements(HTMLParser):
    """What a browser would build from the HTML: every element with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_markup_is_inert(payload: str) -> None:
    html = render_markdown(f"Before\n\n{payload}\n\nafter")
    for tag, attrs in elements(html):
        assert tag not in {"script", "iframe", "svg", "style", "object", "embed", "form", "input"}, html
        assert not [a for a in attrs if a.startswith("on") or a == "style"], html
        for url in (attrs.get("href"), attrs.get("src")):
            assert url is None or url.startswith(("https://", "http://", "mailto:")), html
    assert "Before" in html and "after" in html


def test_raw_html_is_shown_as_text_not_parsed() -> None:
    assert "&lt;b&gt;" in render_markdown("<b>not bold</b>")


def test_links_leave_no_opener_and_images_keep_only_safe_sources() -> None:
    html = render_markdown("[a](https://example.org) ![pic](https://example.org/p.png)")
    assert 'rel="noopener noreferrer nofollow"' in html
    assert '<img src="https://example.org/p.png" alt="pic"' in html
