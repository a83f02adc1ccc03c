"""The search engine at 100,000 tickets (issue 22): documents indexed per second and query latency (p50/p99).

Runs the search service's own engine (``services/search/tantivy_index.py``) on a disk index in a temporary folder,
with generated Russian and English tickets in batches as the indexer writes them (one commit per batch), then
queries as people send them: a word, two words, a number prefix, an e-mail prefix, each under a specialist's scope
(the gateway's filter shape) and filters. Kafka and MongoDB are not in this figure: the ledger-to-index latency is
what tests/integration/search/test_search_service.py waits on. Writes results/search.json and merges it into
results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bench.common import write_result
from bench.measure import merge_latest
from services.search.domain import IndexDoc
from services.search.engine import Query
from services.search.filters import AllOf, AnyOf, Term
from services.search.tantivy_index import TantivyIndex
from services.search.text import words

RU = ("подключение интернет роутер сеть скорость оплата счёт договор тариф телевидение звонок мастер кабель "
      "авария офис пароль почта сервер перезагрузка задержка").split()
EN = "connection internet router network speed invoice contract tariff outage cable office password mail".split()
TEAMS = [f"team-{i}" for i in range(20)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ticket(i: int, rng: random.Random) -> IndexDoc:
    vocab = RU if i % 3 else EN
    text = " ".join(rng.choice(vocab) for _ in range(rng.randint(20, 120)))
    at = T0 + timedelta(minutes=i)
    return IndexDoc(ticket_id=f"T-{i}", number=100_000 + i, version=1, subject=" ".join(rng.sample(vocab, 3)),
                    text=text, notes=" ".join(rng.sample(vocab, 4)), people=f"Client {i % 5000} Контакт {i % 977}",
                    ids=[str(100_000 + i), f"user{i}@client{i % 5000}.example", f"7495{i:07d}"],
                    status=rng.choice(["new", "assigned", "in_progress", "resolved", "closed"]), line="first",
                    group_id="\u2205", service_team_id=TEAMS[i % len(TEAMS)], assignee_id=f"agent-{i % 300}",
                    participants=[], client_id=f"C-{i % 5000}", tags=[], created_at=at, updated_at=at)


def queries(rng: random.Random, n: int) -> list[Query]:
    out = []
    for k in range(n):
        kind = k % 4
        q = [rng.choice(RU), f"{rng.choice(RU)} {rng.choice(EN)}", str(100_000 + rng.randrange(100_000))[:4],
             f"user{rng.randrange(100_000)}@cl"][kind]
        team = rng.choice(TEAMS)
        scope = AnyOf((Term("assignee_id", ("agent-1",)), Term("service_team_id", (team,))))
        status = Term("status", ("new", "assigned", "in_progress")) if k % 2 else AllOf(())
        out.append(Query(words(q), AllOf((scope, status)), notes=True, limit=20))
    return out


async def run(tickets: int, batch: int, n_queries: int) -> dict[str, object]:
    rng = random.Random(22)
    with tempfile.TemporaryDirectory() as folder:
        index = TantivyIndex(folder)
        await index.start()
        started = time.perf_counter()
        for first in range(0, tickets, batch):
            await index.upsert([ticket(i, rng) for i in range(first, min(first + batch, tickets))])
        index_seconds = time.perf_counter() - started
        assert await index.count() == tickets
        latencies = []
        for q in queries(rng, n_queries):
            t0 = time.perf_counter()
            await index.search(q)
            latencies.append((time.perf_counter() - t0) * 1000)
        await index.stop()
    latencies.sort()
    return {"engine": "tantivy", "tickets": tickets, "batch": batch, "index_seconds": round(index_seconds, 1),
            "docs_per_second": round(tickets / index_seconds), "queries": n_queries,
            "query_ms_p50": round(statistics.median(latencies), 2),
            "query_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="tickets per commit (SEARCH_INDEX_BATCH)")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    write_result("search", asyncio.run(run(args.tickets, args.batch, args.queries)))
    merge_latest("search")


if __name__ == "__main__":
    main()
