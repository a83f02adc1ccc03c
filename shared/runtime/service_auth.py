"""Service-to-service authentication for internal HTTP APIs (never for people: they go through the gateway).

In production every internal API demands ``Authorization: Bearer <FRONTLINE_SERVICE_TOKEN>``. In the
one-machine development default, where no token is set, only loopback callers are let in.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from fastapi import Request

from shared.runtime.problems import ProblemError
from shared.runtime.settings import CommonSettings


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_service_caller(settings: CommonSettings, request: Request) -> None:
    """Raise a 401 problem unless the caller is another service (token) or, without a token, on loopback."""
    token = settings.service_token.get_secret_value() if settings.service_token else None
    if token:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return
        raise ProblemError(401, "Unauthorized", "this internal API needs the service token")
    if settings.production:
        raise ProblemError(503, "Service Unavailable", "FRONTLINE_SERVICE_TOKEN is not configured")
    if not is_loopback(request.client.host if request.client else None):
        raise ProblemError(401, "Unauthorized", "without a service token this internal API answers loopback only")


def service_caller(settings: CommonSettings) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency for a router or route: ``dependencies=[Depends(service_caller(settings))]``."""

    async def dependency(request: Request) -> None:
        check_service_caller(settings, request)

    return dependency
