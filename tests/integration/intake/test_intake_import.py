"""`frontline import contacts FILE` against the real database: bad rows reported, the rest imported, idempotent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from services.intake.importer import cli
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore
from shared.contracts.schemas.common import Sender
from shared.runtime.mongo import database, mongo_client
from tests.support.testing import make_settings

CSV = """client_id,client_name,category,service_team_id,contract_number,product,contact_name,emails,phones,chat_ids
acme,Acme,Premium,team-acme,C-100,Internet 100,Anna,Anna@Acme.example;anna2@acme.example,8 912 345-67-89,tg:anna
acme,Acme,Premium,team-acme,C-101,,Boris,boris@acme.example,,
globex,Globex,Standard,,G-7,,Greta,not-an-email,,
,Nameless,Standard,,N-1,,Nick,nick@nameless.example,,
initech,Initech,Business,,C-100,,Peter,peter@initech.example,,
initech,Initech,Business,,I-1,,Peter,peter@initech.example,+7 (495) 123-45-67,
hooli,Hooli,Standard,,H-1,,Gavin,gavin@hooli.example,12,
"""


async def run(argv: list[str]) -> int:
    """The CLI is synchronous (asyncio.run inside), as `frontline import` runs it."""
    return await asyncio.to_thread(cli, argv)


@pytest.fixture
def db_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


async def test_csv_import_reports_bad_rows_imports_the_rest_and_is_idempotent(
        db_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(CSV)
    assert await run(["contacts", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "line 4: invalid e-mail 'not-an-email'",
        "line 5: client_id is required",
        "line 6: contract C-100 belongs to client acme",
        "line 8: invalid phone number '12'",
    ]
    assert out[4].startswith("3 of 7 rows imported, 4 failed")

    settings = make_settings(IntakeSettings, db_env)
    client = mongo_client(settings)
    db = database(client, settings)
    try:
        store = IntakeStore(db)
        anna = await store.identify(Sender(email="anna2@acme.example"))
        assert anna is not None and anna.client_id == "acme" and anna.contract_number == "C-100"
        assert anna.category == "premium" and anna.service_team_id == "team-acme"
        by_phone = await store.identify(Sender(phone="+79123456789"))
        assert by_phone is not None and by_phone.contact_id == anna.contact_id
        boris = await store.identify(Sender(email="boris@acme.example"))
        assert boris is not None and boris.contract_number == "C-101"
        peter = await store.identify(Sender(phone="+74951234567"))
        assert peter is not None and peter.client_id == "initech" and peter.contract_number == "I-1"
        assert await store.identify(Sender(email="greta@globex.example")) is None
        assert await db.dir_contracts.count_documents({}) == 3
        versions = {d["_id"]: d["_version"] async for d in db.dir_clients.find()}

        # the same file again: nothing is written twice
        assert await run(["contacts", str(path), "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["imported"] == 3 and report["failed"] == 4
        assert all(c["created"] == 0 and c["updated"] == 0 for c in report["counts"].values())
        assert {d["_id"]: d["_version"] async for d in db.dir_clients.find()} == versions

        # JSON, nested form, fixing Greta's row
        nested = {"clients": [{"id": "globex", "name": "Globex", "category": "Standard", "contracts": ["G-7"],
                               "contacts": [{"name": "Greta", "emails": ["greta@globex.example"],
                                             "contract_number": "G-7"}]}]}
        (tmp_path / "fix.json").write_text(json.dumps(nested))
        assert await run(["contacts", str(tmp_path / "fix.json")]) == 0
        greta = await store.identify(Sender(email="greta@globex.example"))
        assert greta is not None and greta.contract_number == "G-7" and greta.category == "standard"
        assert await run(["contacts", str(tmp_path / "missing.csv")]) == 2
    finally:
        await client.close()
