"""Every service's database client counts the commands it sends (``frontline_db_commands_total``), by command and
collection, on the real database: the pipeline benchmark divides these by tickets (commands per ticket)."""

from __future__ import annotations

from shared.runtime.mongo import database, mongo_client
from shared.runtime.settings import CommonSettings
from tests.support.testing import db_commands, make_settings


def count(command: str, collection: str) -> float:
    return db_commands(collection, command)


async def test_commands_are_counted_by_name_and_collection(env: dict[str, str]) -> None:
    settings = make_settings(CommonSettings, env)
    client = mongo_client(settings)
    col = database(client, settings)["metered"]
    before = {c: count(c, "metered") for c in ("insert", "find", "update", "aggregate")}
    await col.insert_one({"_id": 1, "n": 0})
    await col.insert_many([{"_id": 2}, {"_id": 3}])  # one command for the batch
    await col.update_one({"_id": 1}, {"$inc": {"n": 1}})
    assert await col.find_one({"_id": 1}) == {"_id": 1, "n": 1}
    assert [d async for d in await col.aggregate([{"$match": {"_id": 2}}])] == [{"_id": 2}]
    await client.close()
    assert count("insert", "metered") - before["insert"] == 2
    assert count("update", "metered") - before["update"] == 1
    assert count("find", "metered") - before["find"] == 1
    assert count("aggregate", "metered") - before["aggregate"] == 1
