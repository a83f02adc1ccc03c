"""Fixtures: a real aiosmtpd SMTP server, and our local Twilio / chat-webhook server, per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from notify_servers import Providers, SmtpServer, provider_app, serve_http

from shared.infra import free_port


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.sink.release.set()
    server.stop()


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    p = Providers(port=free_port())
    async with serve_http(provider_app(p), p.port):
        yield p
