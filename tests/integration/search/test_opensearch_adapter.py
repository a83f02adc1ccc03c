"""The search service with ``SEARCH_ENGINE=opensearch`` over real HTTP, on the real broker and database.

No OpenSearch can run on this machine (not on PyPI, npm or Debian; Maven Central is unreachable), so the cluster is
our protocol stand-in (``tests/support/opensearch_server.py``): it checks the wire format, basic auth and strict
mappings and honours the filters the adapter sends, but ranks and stems nothing. What these tests prove is the
adapter's side of the protocol, not OpenSearch's matching (docs/operations.md, "Search in production").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from integration.search.search_desk import opening, search_desk

from services.search.opensearch_query import KEYWORDS
from shared.contracts.schemas import tickets as t
from shared.contracts.schemas.common import ClientRef
from tests.support.opensearch_server import OpenSearchStandIn, opensearch_app
from tests.support.testing import eventually, serving

VECTOR = ClientRef(client_id="C-42", client_name="Vector Tour", service_team_id="A")
ACME = ClientRef(client_id="C-7", client_name="Acme Ltd", service_team_id="B")
INDEX = "frontline-tickets"
WAIT = 60.0  # the machine is loaded; the condition is what is awaited, this is only the ceiling
USER, PASSWORD = "frontline-search", "s3cret-search-password"


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[OpenSearchStandIn, str]]:
    stand_in = OpenSearchStandIn(username=USER, password=PASSWORD)
    async with serving(opensearch_app(stand_in)) as url:
        yield stand_in, url


def engine(url: str, password: str = PASSWORD) -> dict[str, Any]:
    return {"engine": "opensearch", "opensearch_url": url, "opensearch_username": USER,
            "opensearch_password": password, "opensearch_index": INDEX}


async def test_ticket_events_are_indexed_over_http_and_a_scoped_query_is_filtered_by_the_cluster(
        infra: dict[str, str], tmp_path: Path, cluster: tuple[OpenSearchStandIn, str]) -> None:
    stand_in, url = cluster
    async with search_desk(infra, tmp_path / "unused") as desk, desk.search_running(**engine(url)):
        mapping = stand_in.indices[INDEX]["mapping"]  # created on start, with the adapter's strict mapping
        assert mapping["dynamic"] == "strict" and set(KEYWORDS) <= set(mapping["properties"])
        await desk.send("T-a", opening("No connection in the office since morning", subject="Network down",
                                       client=VECTOR, email="anna@vector.example"))
        await desk.send("T-b", opening("The connection drops every hour", client=ACME, email="bob@acme.example"))
        await desk.send("T-a", t.AddNote(author_id="ann", text="call back after lunch"))
        await eventually(lambda: len(stand_in.docs(INDEX)) == 2 and "lunch" in stand_in.docs(INDEX)["T-a"]["notes"],
                         timeout=WAIT, message="both tickets and the note written to the cluster by _bulk")
        assert ("POST", "_bulk") in stand_in.requests

        assert await desk.found("connection") == {"T-a", "T-b"}
        team_a = {"$or": [{"service_team_id": {"$in": ["A"]}}, {"assignee_id": "ann"}]}
        body = await desk.find("connection", scope=team_a)
        assert {h["ticket_id"] for h in body["hits"]} == {"T-a"} and body["total"] == 1
        sent = stand_in.searches[-1]["query"]["bool"]["filter"]
        assert "service_team_id" in str(sent) and "'A'" in str(sent), "the scope reached the cluster as a filter"
        assert any("<mark>" in h["html"] for h in body["hits"][0]["highlights"])
        assert await desk.found("anna@vector", scope=team_a) == {"T-a"}  # ids by prefix
        assert await desk.found("lunch", scope=team_a, notes=False) == set(), "notes are not matched for clients"
        assert await desk.found("lunch", scope=team_a) == {"T-a"}
        assert await desk.found("connection", client_id="C-7") == {"T-b"}
        assert await desk.found("connection", created_to="2000-01-01T00:00:00Z") == set()
        status = (await desk.api.get("/index")).json()  # type: ignore[union-attr]
        assert status["documents"] == 2

        # `frontline search reindex`'s rebuild of the tickets: the index emptied by query, then written again
        assert await desk.search.state.service.indexer.rebuild() == 2
        assert ("POST", f"{INDEX}/_delete_by_query") in stand_in.requests
        assert set(stand_in.docs(INDEX)) == {"T-a", "T-b"}
    assert stand_in.refused == 0, "every call carried the user's basic-auth credentials"


async def test_wrong_credentials_stop_the_start_with_a_clear_error(
        infra: dict[str, str], tmp_path: Path, cluster: tuple[OpenSearchStandIn, str]) -> None:
    stand_in, url = cluster
    async with search_desk(infra, tmp_path / "unused") as desk:
        with pytest.raises(Exception, match=r"OpenSearch.*401") as caught:
            async with desk.search_running(**engine(url, password="wrong")):
                pass
        assert PASSWORD not in str(caught.value) and "wrong" not in str(caught.value), "no password in errors"
    assert stand_in.refused >= 1 and INDEX not in stand_in.indices


async def test_cluster_errors_are_a_503_problem_and_a_failed_write_is_retried(
        infra: dict[str, str], tmp_path: Path, cluster: tuple[OpenSearchStandIn, str]) -> None:
    stand_in, url = cluster
    async with search_desk(infra, tmp_path / "unused") as desk, desk.search_running(**engine(url)):
        stand_in.fail("_bulk", 503, 429)  # the cluster is busy for two rounds; the ticket is written on a later one
        await desk.send("T-c", opening("Printer jammed again", client=ACME))
        assert await eventually(lambda: desk.found("printer"), timeout=WAIT) == {"T-c"}
        assert stand_in.failures["_bulk"] == []

        # the client retries a 503 on its own (three times): only a cluster that keeps refusing reaches the caller
        for status, times in ((503, 4), (400, 1)):
            stand_in.fail("_search", *[status] * times)
            resp = await desk.api.post("/search", json={"q": "printer", "scope": {}})  # type: ignore[union-attr]
            assert resp.status_code == 503, resp.text
            problem = resp.json()
            assert resp.headers["content-type"].startswith("application/problem+json")
            assert "OpenSearch" in problem["detail"] and str(status) in problem["detail"], problem
            assert stand_in.failures["_search"] == []
        assert await desk.found("printer") == {"T-c"}, "the next query is answered again"
