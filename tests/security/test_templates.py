"""Attack replay (issue 16, item 1): template injection through the preview, on notify and through the gateway.

Each payload must not run: the preview answers a 422 problem, or renders something harmless. Evidence of a run
would be this process's pid, the output of ``id``, a class list, or the settings object in the answer.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from services.gateway.access.auth import mint_token
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from tests.support.attacks import TEMPLATE_ESCAPES
from tests.support.testing import make_settings

PAYLOADS = [
    *TEMPLATE_ESCAPES,
    "{{ [].append(1) }}",
    "{{ {}.update(a=1) }}",
    "{{ range(10**9)|list }}",
    "{{ 'x' * 10**9 }}",
    "{{ 9**99999999 }}",
    "{{ self.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os.system('id') }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ ''.format.__self__.__class__ }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{% include '../../../../../../etc/passwd' %}",
    "{% extends '/etc/passwd' %}",
]
EVIDENCE = (str(os.getpid()), "uid=", "root:", "<class", "subclasses", "Settings", "secret", "__globals__", "function")


def harmless(resp: httpx.Response) -> None:
    assert resp.status_code in (200, 422), resp.text
    if resp.status_code == 422:
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
        assert resp.json()["status"] == 422
        return
    rendered = " ".join(resp.json()[part] for part in ("subject", "text", "html"))
    leaked = [e for e in EVIDENCE if e in rendered]
    assert not leaked, (leaked, rendered)


@pytest.fixture
async def notify(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """notify's own HTTP API, called from loopback (as the services and the admin tools do)."""
    app = notify_app(make_settings(NotifySettings, env))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://notify") as client:
        yield client


@pytest.fixture
async def gateway(env: dict[str, str]) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = make_settings(GatewaySettings, env)
    admin = {"Authorization": f"Bearer {mint_token(settings, 'root', 'administrator')}"}
    notify = notify_app(make_settings(NotifySettings, env))
    app = gateway_app(settings, notify=httpx.ASGITransport(app=notify))  # the gateway renders nothing itself
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        yield client, admin


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_escape_payloads_do_not_run_in_notify(notify: httpx.AsyncClient, payload: str) -> None:
    t0 = time.monotonic()
    for draft in ({"subject": payload, "text": "x"}, {"subject": "s", "text": payload},
                  {"subject": "s", "text": "x", "html": payload}):
        harmless(await notify.post("/api/v1/templates/reply/preview", json={"language": "en", "draft": draft}))
    assert time.monotonic() - t0 < 20, "resource limits: a payload must not run for long"


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_escape_payloads_do_not_run_in_the_gateway(gateway: tuple[httpx.AsyncClient, dict[str, str]],
                                                         payload: str) -> None:
    gw, admin = gateway
    for draft in ({"subject": payload, "text": "x"}, {"subject": "s", "text": payload}):
        harmless(await gw.post("/api/v1/templates/survey/preview", headers=admin,
                               json={"language": "ru", "draft": draft}))


async def test_the_pid_payload_is_refused_with_a_problem(notify: httpx.AsyncClient) -> None:
    """The exact replay of the report: it answered this process's pid."""
    resp = await notify.post("/api/v1/templates/reply/preview", json={
        "language": "en", "draft": {"subject": PAYLOADS[0], "text": "x"}})
    assert resp.status_code == 422, resp.text
    assert "unsafe" in resp.json()["detail"]  # ``cycler`` is not there, and ``__init__`` of anything is refused
    assert str(os.getpid()) not in resp.text


async def test_mutation_and_range_limits_are_the_sandbox_s(notify: httpx.AsyncClient) -> None:
    async def detail(text: str) -> str:
        resp = await notify.post("/api/v1/templates/reply/preview",
                                 json={"language": "en", "draft": {"subject": "s", "text": text}})
        assert resp.status_code == 422, resp.text
        return str(resp.json()["detail"])

    assert "unsafe" in await detail("{{ [].append(1) }}")
    assert "unsafe" in await detail("{{ {}.update(a=1) }}")
    assert "MAX_RANGE" in await detail("{{ range(10**9)|list }}")
    ok = await notify.post("/api/v1/templates/reply/preview", json={
        "language": "en", "draft": {"subject": "s", "text": "{{ range(3)|list }} {{ 2**10 }} {{ '-' * 3 }}"}})
    assert ok.status_code == 200 and "[0, 1, 2] 1024 ---" in ok.json()["text"], ok.text


async def test_a_context_may_only_carry_the_template_s_variables(notify: httpx.AsyncClient,
                                                                 gateway: tuple[httpx.AsyncClient,
                                                                                dict[str, str]]) -> None:
    gw, admin = gateway
    body = {"language": "en", "context": {"text": "hi", "os": "x", "config": {"a": 1}}}
    for resp in (await notify.post("/api/v1/templates/reply/preview", json=body),
                 await gw.post("/api/v1/templates/reply/preview", headers=admin, json=body)):
        assert resp.status_code == 422, resp.text
        assert "config" in resp.json()["detail"] and "os" in resp.json()["detail"]
    known = await notify.post("/api/v1/templates/reply/preview", json={"language": "en", "context": {"text": "hi"}})
    assert known.status_code == 200 and known.json()["text"].startswith("hi"), known.text
