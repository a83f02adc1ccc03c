"""Attack replay (issue 23, knowledge base files): an article's image or attachment is read only by whoever may read
the article (a client gets the same 404 for an internal or draft article's file as for no file); only administrators
upload; a file's type is what its bytes prove (a disguised executable is a 415, an oversize file a 413); active
content comes back as an octet-stream download that runs nothing; a rendered body shows images only from these
files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from integration.knowledge.knowledge_support import (
    ADMIN,
    ARTICLES,
    CLIENT_1,
    LEAD,
    SPECIALIST,
    Who,
    article,
    as_,
    knowledge_desk,
    read,
    write,
)

from shared.contracts.collections import KNOWLEDGE_FILES
from tests.support.desk import Desk

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64 + b"This program cannot be run"
FILES = "/api/v1/knowledge/files"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def desk(infra: dict[str, str]) -> AsyncIterator[Desk]:
    async with knowledge_desk(infra) as d:
        yield d


async def upload(d: Desk, who: Who, article_id: str, name: str, data: bytes, ctype: str) -> httpx.Response:
    return await d.http.post(f"{ARTICLES}/{article_id}/attachments", files={"file": (name, data, ctype)},
                             headers=as_(d, who))


async def uploaded(d: Desk, article_id: str, name: str, data: bytes, ctype: str) -> dict[str, Any]:
    resp = await upload(d, ADMIN, article_id, name, data, ctype)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_a_public_articles_image_shows_in_its_body_and_downloads_with_the_safe_headers(desk: Desk) -> None:
    article_id = await write(desk, article("Router front panel", "See the panel."), publish=False)
    image = await uploaded(desk, article_id, "../../panel.png", PNG, "application/octet-stream")
    assert image["content_type"] == "image/png" and image["filename"] == "panel.png"  # proved by its bytes
    assert image["url"] == f"{FILES}/{image['id']}"
    body = f"![panel]({image['url']})\n\n![tracker](https://tracker.example/p.gif)"
    edited = await desk.http.put(f"{ARTICLES}/{article_id}", headers=as_(desk, ADMIN),
                                 json=article("Router front panel", body))
    assert edited.status_code == 200, edited.text
    assert (await read(desk, CLIENT_1, image["url"])).status_code == 404, "a draft's image: not yet"
    for who, action in ((ADMIN, "submit"), (LEAD, "publish")):
        moved = await desk.http.post(f"{ARTICLES}/{article_id}/workflow", json={"action": action},
                                     headers=as_(desk, who))
        assert moved.status_code == 200, moved.text

    html = (await read(desk, CLIENT_1, f"{ARTICLES}/{article_id}")).json()["rendered"]["en"]["html"]
    assert f'<img src="{image["url"]}" alt="panel">' in html and "tracker.example" not in html
    got = await read(desk, CLIENT_1, image["url"])
    assert got.status_code == 200 and got.content == PNG
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''panel.png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "sandbox"
    assert got.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("visibility", ["internal", "draft"])
async def test_a_hidden_articles_file_is_404_to_a_client_like_no_file(desk: Desk, visibility: str) -> None:
    article_id = await write(desk, article("Staff wiring diagram", "x", visibility="internal"),
                             publish=visibility != "draft")
    diagram = await uploaded(desk, article_id, "wiring.pdf", b"%PDF-1.7\n" + b"0" * 64, "application/pdf")
    hidden = await read(desk, CLIENT_1, diagram["url"])
    absent = await read(desk, CLIENT_1, f"{FILES}/no-such-file")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"] == f"no file {diagram['id']}" and article_id not in hidden.text
    staff = await read(desk, SPECIALIST, diagram["url"])
    assert staff.status_code == (200 if visibility == "internal" else 404)


@pytest.mark.parametrize("who", [LEAD, SPECIALIST, CLIENT_1])
async def test_only_administrators_upload(desk: Desk, who: Who) -> None:
    article_id = await write(desk, article("Public page", "x"))
    refused = await upload(desk, who, article_id, "x.png", PNG, "image/png")
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    assert await desk.db[f"{KNOWLEDGE_FILES}.files"].count_documents({"metadata.article_id": article_id}) == 0


async def test_a_disguised_executable_is_415_an_oversize_file_413_and_active_content_runs_nothing(desk: Desk) -> None:
    article_id = await write(desk, article("Files", "x"))
    for name, ctype in (("photo.png", "image/png"), ("notes.txt", "text/plain")):
        refused = await upload(desk, ADMIN, article_id, name, EXE, ctype)
        assert refused.status_code == 415 and refused.headers["content-type"] == "application/problem+json"
    limit = desk.settings.attachment_max_bytes
    huge = await upload(desk, ADMIN, article_id, "big.txt", b"a" * (limit + 1), "text/plain")
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
    html = b"<html><script>alert(document.cookie)</script></html>"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    for name, data, ctype in (("page.html", html, "text/html"), ("logo.svg", svg, "image/svg+xml")):
        stored = await uploaded(desk, article_id, name, data, ctype)
        got = await read(desk, CLIENT_1, stored["url"])
        assert got.status_code == 200 and got.content == data
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["content-security-policy"] == "sandbox"
    assert (await upload(desk, ADMIN, "no-such-article", "x.png", PNG, "image/png")).status_code == 404
