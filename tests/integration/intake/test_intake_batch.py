"""The inbound batch path decides, records and publishes exactly what the one-by-one path does, and a batch
handled again (a redelivery after a crash before the offset commit) publishes the same command ids and writes
nothing twice. Real broker, real database."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from services.intake.batch import InboundBatch
from services.intake.handlers import InvalidInbound
from services.intake.store import CONVERSATIONS, MESSAGES, TICKET_KEYS
from shared.contracts.envelope import Envelope
from shared.contracts.schemas.common import Classification
from shared.contracts.schemas.inbound import InboundMessage
from tests.integration.intake.batch_support import World, by_ticket, messages, second_pod, world

PUBLISHED = 17  # the batch's messages but the auto-reply, the repeat of w1 included


async def _one_by_one(w: World) -> int:
    """Handles every message in turn; how many commands it published."""
    published = 0
    for msg in messages():
        if not (await w.pipeline.handle(msg)).get("ignored"):
            published += 1
    return published


async def _decide_first(w: World) -> None:
    """w0 was decided and published before the batch (its record is there when the batch reads)."""
    (w0,) = [m for m in messages() if m.external_id == "w0"]
    await w.pipeline.handle(w0)


async def test_a_batch_decides_records_and_publishes_as_one_message_at_a_time(env: dict[str, str]) -> None:
    async with world(env) as single, world(env) as batched:
        await _decide_first(single)
        await _decide_first(batched)
        count = 1 + await _one_by_one(single)
        assert count == 1 + PUBLISHED
        before = len(batched.commands.sent)
        await batched.batch(messages())
        batch_commands = batched.commands.sent[before:]
        assert await batched.state() == await single.state()
        assert by_ticket(await batched.published(count)) == by_ticket(await single.published(count))
        decisions = {d["_id"]: d for d in (await batched.state())[MESSAGES]}
        sent = {e.id: e for e in await batched.published(count)}
    assert len(decisions) == 17  # every distinct message once
    tickets = {k: d.get("ticket_id") for k, d in decisions.items()}
    assert tickets["web:w1"] == tickets["web:w3"] == tickets["web:w10"]  # one conversation, one ticket
    assert tickets["web:w2"] == tickets["chat:c1"] == tickets["phone:p1"]  # Anna by e-mail, chat and phone
    assert tickets["web:w7"] == "T-open" and decisions["web:w7"]["via"] == "conversation"
    assert tickets["web:w8"] == tickets["web:w9"] not in ("T-closed", None)
    assert [decisions["web:w8"]["via"], decisions["web:w9"]["via"]] == ["new", "conversation"]
    # the ledger is told which messages open a new ticket (it inserts those without a read)
    hints = {k: sent[d["command_id"]].payload["new_ticket"] for k, d in decisions.items() if not d.get("ignored")}
    assert hints["web:w8"] and not hints["web:w9"] and not hints["web:w7"]
    assert all(hints[k] == (d["via"] == "new") for k, d in decisions.items() if k in hints)
    assert decisions["web:w4"]["client"] is None and decisions["web:w4"]["review"][0]["flag"] == "lookalike_sender"
    assert decisions["web:w5"]["client"]["client_id"] == "globex"
    assert decisions["web:w6"]["client"]["contract_number"] == "G-7"  # Acme's contract is not Greta's
    assert decisions["web:w11"]["ignored"] == "auto_submitted"
    # the batch's own messages cost one command per collection, the two one-by-one messages aside
    assert batch_commands.count(("find", MESSAGES)) == 1 + 2
    assert batch_commands.count(("insert", MESSAGES)) == 3 + 2  # three flushes (around e1, e2) + e1 + e2


async def test_a_batch_handled_again_publishes_the_same_ids_and_writes_nothing(env: dict[str, str]) -> None:
    async with world(env) as w:
        await _decide_first(w)
        await w.batch(messages())
        first = await w.published(1 + PUBLISHED)  # w0's own, then the batch's
        state, writes = await w.state(), len(w.commands.writes())
        await w.batch(messages())  # the offsets were never committed: the same records come again
        again = (await w.published(1 + 2 * PUBLISHED))[len(first):]
        assert await w.state() == state
        assert w.commands.writes()[writes:] == []  # every decision is found recorded: nothing is written again
    assert Counter(e.id for e in again) == Counter(e.id for e in first) - Counter([first_of(first, "w0").id])
    assert by_ticket(again) == by_ticket(drop_first(first, first_of(first, "w0")))


async def test_a_crash_between_the_claims_and_the_decisions_changes_nothing(env: dict[str, str]) -> None:
    """Redelivered as a batch, or handled one by one as the runtime does after a failed batch: as if no crash."""
    async with world(env) as clean, world(env) as rebatched, world(env) as singly:
        for w in (clean, rebatched, singly):
            await _decide_first(w)
        await clean.batch(messages())
        for crashed in (rebatched, singly):
            real, before = crashed.batch.bulk.record_messages, len(crashed.commands.writes())
            crashed.batch.bulk.record_messages = _dies  # type: ignore[method-assign]
            with pytest.raises(ConnectionError):
                await crashed.batch(messages())
            crashed.batch.bulk.record_messages = real  # type: ignore[method-assign]
            written = crashed.commands.writes()[before:]  # the claims, no decision (which notes each claim)
            assert ("update", CONVERSATIONS) in written and not [c for c in written if c[1] == MESSAGES]
            # the closed ticket's conversation given to a new one notes it in the keys; fresh claims, in decisions
            assert written.count(("update", TICKET_KEYS)) == 1
        await rebatched.batch(messages())
        for msg in messages():
            await singly.pipeline.handle(msg)
        expected = await clean.state()
        assert await rebatched.state() == expected and await singly.state() == expected
        commands = by_ticket(await clean.published(1 + PUBLISHED))
        assert by_ticket(await rebatched.published(1 + PUBLISHED)) == commands
        assert by_ticket(await singly.published(1 + PUBLISHED)) == commands


async def _dies(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    raise ConnectionError("the pod died between the claims and the decisions")


def first_of(envelopes: list[Envelope], external_id: str) -> Envelope:
    return next(e for e in envelopes if e.payload["content"]["external_id"] == external_id)


def drop_first(envelopes: list[Envelope], gone: Envelope) -> list[Envelope]:
    i = envelopes.index(gone)
    return envelopes[:i] + envelopes[i + 1:]


async def test_two_pods_racing_put_one_conversation_on_one_ticket(env: dict[str, str]) -> None:
    """Messages of one sender fetched by two pods at once, each in a batch, or one of them one by one."""
    def mail(ext: str, who: str) -> InboundMessage:
        return InboundMessage(channel="web", external_id=ext, sender={"email": f"{who}@race.example"}, text="hi")

    async with world(env) as w, second_pod(w) as other:
        other_batch = InboundBatch(other)
        for round_ in range(5):
            a, b, c = (f"r{round_}-{who}" for who in ("a", "b", "c"))
            await asyncio.gather(w.batch([mail(f"{a}-1", a), mail(f"{b}-1", b), mail(f"{a}-2", a)]),
                                 other_batch([mail(f"{b}-2", b), mail(f"{a}-3", a), mail(f"{c}-1", c)]),
                                 other.handle(mail(f"{c}-2", c)))
        decisions = (await w.state())[MESSAGES]
    tickets_of: dict[str, set[str]] = {}
    for d in decisions:
        tickets_of.setdefault(d["inbound"]["sender"]["email"], set()).add(d["ticket_id"])
    assert len(tickets_of) == 15 and all(len(t) == 1 for t in tickets_of.values()), tickets_of


async def test_an_invalid_message_fails_the_batch_before_anything_is_written(env: dict[str, str]) -> None:
    async with world(env) as w:
        bad = messages()[0].model_copy(update={"external_id": "bad", "classification": Classification(
            topic="no-such-topic")})
        writes = len(w.commands.writes())
        with pytest.raises(InvalidInbound):
            await w.batch([*messages()[:3], bad])
        assert w.commands.writes()[writes:] == []
        # the runtime then handles the records one by one, where the invalid one is dead-lettered
        with pytest.raises(InvalidInbound):
            await w.pipeline.handle(bad)
