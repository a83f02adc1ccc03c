"""IntakeStore on the real database: first writer wins, one claim per conversation, linked identities."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import AsyncMongoClient

from services.intake.store import INDEXES, IntakeStore
from shared.contracts.schemas.common import ClientRef, Sender
from shared.directory import DirectoryStore
from shared.directory.contacts import CONTACTS, ContactPerson
from shared.runtime.mongo import database, ensure_indexes, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import make_settings

AT = datetime(2026, 3, 6, 9, 30, 15, 123456, tzinfo=UTC)


async def _store(env: dict[str, str]) -> tuple[IntakeStore, AsyncMongoClient]:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await ensure_indexes(db, INDEXES)
    return IntakeStore(db), client


async def test_record_message_first_writer_wins_and_returns_the_stored_form(env: dict[str, str]) -> None:
    store, client = await _store(env)
    first = await store.record_message({"_id": "web:1", "message_id": "m1", "ticket_id": "T-1", "at": AT})
    assert first == await store.message("web:1")  # as a read returns it: datetime to the millisecond, UTC
    assert first["at"] == AT.replace(microsecond=123000)
    again = await store.record_message({"_id": "web:1", "message_id": "m1", "ticket_id": "T-2", "at": AT})
    assert again == first and again["ticket_id"] == "T-1"
    assert (await store.message_by_id("m1"))["ticket_id"] == "T-1"
    await client.close()


async def test_claims_one_ticket_per_conversation(env: dict[str, str]) -> None:
    store, client = await _store(env)
    assert await store.claim("conv:a", "T-1") == ("T-1", True)
    assert await store.claim("conv:a", "T-2") == ("T-1", False)  # first claim wins
    assert await store.claim("conv:a", "T-1") == ("T-1", True)  # the same candidate again: still its claim
    assert await store.replace_claim("conv:a", "T-9", "T-3") == "T-1"  # a stale swap loses to the live claim
    assert await store.replace_claim("conv:a", "T-1", "T-3") == "T-3"
    assert await store.claim("conv:a", "T-4") == ("T-3", False)
    await store.release("T-3")
    assert await store.replace_claim("conv:a", "T-3", "T-5") == "T-5"  # released meanwhile: claims afresh
    await store.release("T-5")
    await store.claim_if_free("conv:a", "T-3")  # T-3 reopened: takes it back
    assert await store.claim("conv:a", "T-6") == ("T-3", False)
    await store.release("T-3")
    await store.reclaim("T-5")
    assert await store.claim("conv:a", "T-7") == ("T-5", False)
    keys = {d["_id"]: d["keys"] async for d in store.ticket_keys.find({})}
    assert keys == {"T-1": ["conv:a"], "T-3": ["conv:a"], "T-5": ["conv:a"]}
    await client.close()


async def test_add_identity_only_for_senders_the_client_does_not_have(env: dict[str, str]) -> None:
    store, client = await _store(env)
    contacts = DirectoryStore(store.db, CONTACTS)
    await contacts.put(ContactPerson(id="p1", client_id="c1", emails=["anna@a.example"], phones=["+31201234567"]),
                       actor="t", at=AT)
    await contacts.put(ContactPerson(id="p2", client_id="c2", emails=["bob@b.example"]), actor="t", at=AT)
    c1 = ClientRef(client_id="c1")
    assert not await store.add_identity(c1, Sender(email="anna@a.example"), actor="agent", at=AT)
    assert not await store.add_identity(c1, Sender(email="new@a.example", phone="+31201234567"), actor="agent", at=AT)
    assert await store.add_identity(c1, Sender(email="bob@b.example"), actor="agent", at=AT)  # known, for c2 only
    assert not await store.add_identity(c1, Sender(), actor="agent", at=AT)
    linked = [c async for c in store.db[CONTACTS.collection].find({"client_id": "c1", "source": "linked"})]
    assert [c["emails"] for c in linked] == [["bob@b.example"]]
    await client.close()


async def test_a_client_read_is_used_again_within_the_directory_cache(env: dict[str, str]) -> None:
    from intake_support import seed

    from services.intake.senders import SenderDirectory, Wanted
    from tests.support.testing import db_commands

    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    db = database(client, settings)
    await seed(db)
    anna, boris = Wanted(Sender(email="anna@acme.example")), Wanted(Sender(email="boris@acme.example"))
    try:
        for cache_seconds, reads in ((60.0, 1), (0.0, 2)):
            senders = SenderDirectory(db, cache_seconds)
            before = db_commands("dir_clients", "find")
            first, second = [(await senders.identify_many([w]))[0].client for w in (anna, boris)]
            assert db_commands("dir_clients", "find") - before == reads
            assert first is not None and second is not None
            assert (first.client_id, first.contact_id, second.contact_id) == ("acme", "anna", "boris")
            assert first.client_name == second.client_name == "Acme" and first.service_team_id == "team-acme"
    finally:
        await client.close()
