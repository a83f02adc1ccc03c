"""``frontline search reindex|status``: ask the running search service (its internal API, the service token)."""

from __future__ import annotations

import argparse
import sys

import httpx

from .settings import SearchSettings


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="frontline search", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["reindex", "status"],
                        help="reindex: empty both indexes, rebuild tickets from the ledger's histories and articles "
                             "from knowledge.articles read from its beginning; status: their sizes")
    settings = SearchSettings()
    parser.add_argument("--url", default=f"http://127.0.0.1:{settings.http_port}",
                        help="the search service (default: this machine's, SEARCH_HTTP_PORT)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds a rebuild may take")
    args = parser.parse_args(argv)
    token = settings.service_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
    try:
        with httpx.Client(base_url=args.url.rstrip("/") + "/api/v1", headers=headers, timeout=args.timeout) as http:
            resp = http.post("/reindex") if args.action == "reindex" else http.get("/index")
    except httpx.HTTPError as exc:
        print(f"the search service at {args.url} could not be reached: {exc!r}", file=sys.stderr)
        return 1
    if not resp.is_success:
        print(f"the search service answered {resp.status_code}: {resp.text[:500]}", file=sys.stderr)
        return 1
    print(resp.text)
    return 0
