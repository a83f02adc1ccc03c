"""Hostile Markdown an article or news body may carry (tests/unit/knowledge, tests/security replay them): each tries
to run script, frame another site, style the page, or load something from outside when rendered; ``active_parts``
parses rendered HTML as a browser would and names what in it could act (escaped text is only text)."""

from __future__ import annotations

from html.parser import HTMLParser

HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle/></svg>",
    "<a href=\"javascript:alert(1)\" onclick=\"alert(2)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://tracker.example/p.gif)",
    "![x](javascript:alert(1))",
    "<div style=\"position:fixed;top:0\">overlay</div>",
    "<style>body{display:none}</style>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<form action=\"https://evil.example\"><input name=p></form>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "[x](/api/v1/admin/import/contacts)",
    "<!-- <script>alert(1)</script> -->",
    "[x](https://ok.example \"t\" onmouseover=alert(1))",
]
SAFE_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
             "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td"}
OWN_FILES = "/api/v1/knowledge/files/"


class _Active(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = (value or "").strip().lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}")
            if name == "href" and not value.startswith(("http://", "https://", "mailto:", OWN_FILES)):
                self.found.append(f"{tag} href={value}")
            if name == "src" and not value.startswith(OWN_FILES):
                self.found.append(f"{tag} src={value}")
        if tag == "a" and "nofollow" not in (dict(attrs).get("rel") or ""):
            self.found.append("a without rel nofollow")

    def handle_comment(self, data: str) -> None:
        self.found.append("comment")


def active_parts(html: str) -> list[str]:
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found
