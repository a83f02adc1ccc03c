"""Attack replay: the local mail catcher shows mail a stranger wrote (any client can make notify quote him).

Its page must show every message as text, never as markup the browser runs; it runs no script at all (a strict
Content-Security-Policy says so to the browser); only http(s) links become links; a web page that rebinds its
own name to 127.0.0.1 cannot read the messages (survey links, reset codes); and it listens on loopback only.
"""

from __future__ import annotations

import subprocess
import sys
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tools.mailcatcher import MailStore, mail_dir, spawn
from tools.mailcatcher.web import web_app

HOSTILE_SUBJECT = "<script>alert('subject')</script>"
HOSTILE_TEXT = ('Hello "><script>alert(1)</script> <img src=x onerror=alert(2)>\n'
                "click javascript:alert(3) or https://x.test/a\"onmouseover=\"alert(4) or data:text/html,<b>x</b>\n")
HOSTILE_HTML = "<html><body><script>alert(5)</script><img src=x onerror=alert(6)><b>bold</b></body></html>"


def hostile_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = '"<img src=x onerror=alert(7)>" <evil@attacker.example>'
    msg["To"] = "anna@client.example"
    msg["Subject"] = HOSTILE_SUBJECT
    msg.set_content(HOSTILE_TEXT)
    msg.add_alternative(HOSTILE_HTML, subtype="html")
    return msg.as_bytes()


def html_only_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "evil@attacker.example"
    msg["Subject"] = "html only"
    msg.set_content(HOSTILE_HTML, subtype="html")
    return msg.as_bytes()


class Tags(HTMLParser):
    """Every element and attribute the browser would build from the page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[tuple[str, str]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attrs += [(name, value or "") for name, value in attrs]


def client(store: MailStore, host: str = "127.0.0.1:8025") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=web_app(store), client=("127.0.0.1", 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{host}")


@pytest.fixture
def store(tmp_path: Path) -> MailStore:
    store = MailStore(tmp_path)
    store.add_email(hostile_mail(), "evil@attacker.example", ["anna@client.example"])
    store.add_email(html_only_mail(), "evil@attacker.example", ["anna@client.example"])
    store.add("sms", ["+79161234567"], "", "<svg onload=alert(8)>")
    return store


async def test_hostile_mail_is_shown_as_text_never_as_markup(store: MailStore) -> None:
    async with client(store) as http:
        page = await http.get("/")
    assert page.status_code == 200
    built = Tags(page.text)
    assert not built.tags & {"script", "img", "svg", "b", "iframe", "object", "style", "base", "form"}, built.tags
    assert not [name for name, _ in built.attrs if name.startswith("on")]
    hrefs = [value for name, value in built.attrs if name in ("href", "src", "action")]
    assert all(h.startswith(("https://", "http://", "/")) for h in hrefs), hrefs
    assert "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in page.text
    assert "&lt;svg onload=alert(8)&gt;" in page.text
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in page.text  # an HTML-only mail: its source, as text
    assert 'href="https://x.test/a"' in page.text  # the link stops where the attribute injection starts


async def test_page_and_api_run_nothing_and_frame_nowhere(store: MailStore) -> None:
    async with client(store) as http:
        responses = [await http.get(path) for path in ("/", "/api/messages", "/style.css", "/nothing-here")]
    for resp in responses:
        csp = {d.split()[0]: d.split()[1:] for d in resp.headers["content-security-policy"].split(";") if d.strip()}
        assert csp["default-src"] == ["'none'"], resp.url
        assert "script-src" not in csp  # falls back to 'none': no script of any origin runs
        assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"
    assert responses[2].headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8025", "10.0.0.5:8025"])
async def test_a_rebound_name_cannot_read_the_messages(store: MailStore, host: str) -> None:
    async with client(store, host) as http:
        for path in ("/", "/api/messages"):
            resp = await http.get(path)
            assert resp.status_code == 400, (host, path)
            assert "anna@client.example" not in resp.text


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel lists them) of sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_it_listens_on_loopback_only_and_has_no_option_to_do_otherwise(tmp_path: Path) -> None:
    catcher = spawn(tmp_path)
    try:
        http_port = int(catcher.http_url.rsplit(":", 1)[1])
        assert listening_addresses(catcher.smtp_port) == {"0100007F"}
        assert listening_addresses(http_port) == {"0100007F"}
    finally:
        catcher.stop()
    refused = subprocess.run([sys.executable, "-m", "tools.mailcatcher", "--host", "0.0.0.0",  # noqa: S104
                              "--dir", str(mail_dir(tmp_path))], capture_output=True, timeout=120)
    assert refused.returncode == 2 and b"--host" in refused.stderr
