"""Article Markdown renders to safe HTML (pure): markup typed into a body stays text, links are http/https/mailto
with rel nofollow, images come only from the desk's own article files."""

from __future__ import annotations

import pytest

from services.knowledge.render import render
from tests.support.markdown_attacks import HOSTILE_MARKDOWN, active_parts


@pytest.mark.parametrize("payload", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_inert(payload: str) -> None:
    html = render(f"# Title\n\n{payload}\n\ntext")
    assert active_parts(html) == [], html


def test_the_checker_sees_active_markup() -> None:  # the test above means something only if this one holds
    assert active_parts('<p onclick="x">a</p><script>1</script><img src="https://t.example/p.gif">'
                        '<a href="javascript:x">y</a><!-- c -->') == [
        "p onclick", "<script>", "img src=https://t.example/p.gif", "a href=javascript:x", "a without rel nofollow",
        "comment"]


def test_ordinary_markdown_keeps_its_shape() -> None:
    html = render("# Router\n\n**Restart** it, see [the guide](https://example.com/g) or "
                  "[mail us](mailto:help@example.com).\n\n![scheme](/api/v1/knowledge/files/abc123)\n\n"
                  "| a | b |\n|---|---|\n| 1 | 2 |\n\n1. one\n2. two\n\n`code`")
    assert "<h1>Router</h1>" in html and "<strong>Restart</strong>" in html
    assert '<a href="https://example.com/g" rel="noopener noreferrer nofollow">the guide</a>' in html
    assert 'href="mailto:help@example.com"' in html
    assert '<img src="/api/v1/knowledge/files/abc123" alt="scheme">' in html
    assert "<table>" in html and "<td>1</td>" in html and "<ol>" in html and "<code>code</code>" in html
    assert active_parts(html) == []


def test_an_image_from_elsewhere_or_a_walking_file_path_loses_its_source() -> None:
    for src in ("https://cdn.example/x.png", "/api/v1/knowledge/files/../../admin", "//evil.example/x.png",
                "/api/v1/knowledge/files/a?b=1"):
        assert "src=" not in render(f"![x]({src})"), src
