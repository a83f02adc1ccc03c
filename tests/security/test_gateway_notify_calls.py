"""Attack replay (issue 18): people's feed and the template previews go through notify's internal API.

The gateway used to query notify's inbox collection itself. Now it calls notify with the service token and
names the caller itself: whatever a person sends (another's id as a parameter, another's item, an item id that
climbs out of its path), he reads and marks only his own feed. Notify refusing the gateway or being away is a
502/503 problem, never a 500 and never data from anywhere else.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from services.notify.store import NotifyStore
from shared.contracts.collections import NOTIFY_INBOX
from shared.runtime.ids import new_id
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import make_settings

TOKEN = "gateway-to-notify-service-token-for-tests"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item(user: str, n: int) -> dict[str, Any]:
    return {"_id": f"{user}-{n}-{new_id()}", "user_id": user, "ticket_id": f"T-{n}", "template": "escalation",
            "language": "en", "subject": f"{user} {n}", "text": "x", "reason": "escalation",
            "created_at": T0 + timedelta(minutes=n), "read": False}


@asynccontextmanager
async def gateway(env: dict[str, str], notify_token: str | None = TOKEN, **overrides: Any
                  ) -> AsyncIterator[tuple[httpx.AsyncClient, GatewaySettings]]:
    """The gateway over notify's real app (its API in process, protected by ``notify_token``)."""
    settings = make_settings(GatewaySettings, env, **{"service_token": TOKEN, **overrides})
    notify = notify_app(make_settings(NotifySettings, env, service_token=notify_token))
    transport = None if "notify_url" in overrides else httpx.ASGITransport(app=notify)
    app = gateway_app(settings, **({"notify": transport} if transport else {}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as http:
        yield http, settings


def auth(settings: GatewaySettings, user: str, role: str = "specialist") -> dict[str, str]:
    from services.gateway.access.auth import mint_token

    return {"Authorization": f"Bearer {mint_token(settings, user, role)}"}


@pytest.fixture
async def feeds(env: dict[str, str]) -> AsyncIterator[tuple[dict[str, Any], Any]]:
    """Olga's two items and Ivan's one, written by notify's own store."""
    client = mongo_client(make_settings(NotifySettings, env))
    db = database(client, make_settings(NotifySettings, env))
    olga, ivan = [item("olga", 1), item("olga", 2)], [item("ivan", 3)]
    await NotifyStore(db).add_inbox([*olga, *ivan])
    yield {"olga": olga, "ivan": ivan}, db
    await client.close()


def problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == status
    return body


async def test_a_person_reads_and_marks_only_his_own_feed_whatever_he_sends(env: dict[str, str],
                                                                              feeds: tuple[dict[str, Any], Any]
                                                                              ) -> None:
    items, db = feeds
    target = items["olga"][0]["_id"]
    async with gateway(env) as (gw, settings):
        ivan = auth(settings, "ivan")
        for params in ({}, {"user": "olga"}, {"user_id": "olga"}, {"user": "olga", "unread": "false"}):
            resp = await gw.get("/api/v1/me/notifications", params=params, headers=ivan)
            assert resp.status_code == 200, resp.text
            assert [i["id"] for i in resp.json()["items"]] == [items["ivan"][0]["_id"]], params
        own = await gw.get("/api/v1/me/notifications", headers=auth(settings, "olga"))
        assert [i["id"] for i in own.json()["items"]] == [i["_id"] for i in reversed(items["olga"])]

        for path in (f"{target}/read", f"{target}/read?user=olga",
                     "..%2F..%2Ftemplates%2Freply%2Fpreview/read", "%2E%2E/read", "..%2Finbox%3Fuser%3Dolga/read"):
            resp = await gw.post(f"/api/v1/me/notifications/{path}", headers=ivan)
            problem(resp, 404)
        assert (await db[NOTIFY_INBOX].find_one({"_id": target}))["read"] is False, "nothing of Olga's changed"
        assert (await gw.post(f"/api/v1/me/notifications/{target}/read", headers=auth(settings, "olga"))
                ).status_code == 204
        assert (await db[NOTIFY_INBOX].find_one({"_id": target}))["read"] is True
        assert (await gw.get("/api/v1/me/notifications", headers=auth(settings, "c-1", "client"))).status_code == 403


async def test_notify_refusing_the_gateway_is_a_502_problem(env: dict[str, str],
                                                           feeds: tuple[dict[str, Any], Any]) -> None:
    async with gateway(env, notify_token="another-token-the-gateway-does-not-hold") as (gw, settings):
        lead, admin = auth(settings, "lea", "team_lead"), auth(settings, "root", "administrator")
        for resp in (await gw.get("/api/v1/me/notifications", headers=lead),
                     await gw.post("/api/v1/me/notifications/x/read", headers=lead),
                     await gw.get("/api/v1/templates", headers=lead),
                     await gw.get("/api/v1/templates/reply/preview", headers=lead),
                     await gw.post("/api/v1/templates/reply/preview", headers=admin, json={"language": "en"})):
            assert "olga" not in problem(resp, 502).get("detail", "")


async def test_notify_away_is_a_503_problem_not_the_database(env: dict[str, str],
                                                             feeds: tuple[dict[str, Any], Any]) -> None:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with gateway(env, notify_url=f"http://127.0.0.1:{port}") as (gw, settings):
        olga = auth(settings, "olga")
        resp = await gw.get("/api/v1/me/notifications", headers=olga)
        problem(resp, 503)
        assert resp.headers.get("retry-after")
        problem(await gw.post(f"/api/v1/me/notifications/{feeds[0]['olga'][0]['_id']}/read", headers=olga), 503)
        problem(await gw.get("/api/v1/templates", headers=auth(settings, "lea", "team_lead")), 503)
