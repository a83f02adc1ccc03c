"""Who is calling: the direct peer, or, behind proxies we trust, the client they name in X-Forwarded-For."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(cidr, strict=False) for cidr in cidrs]


def client_address(peer: str, forwarded_for: str, proxies: Sequence[Network]) -> str:
    """The direct peer, or, behind trusted proxies, the nearest X-Forwarded-For hop none of them is.

    Only hops added by our own proxies are believed: a caller writing the header himself names nobody."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    while hops and _trusted(peer, proxies):
        peer = hops.pop()
    return peer


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)
