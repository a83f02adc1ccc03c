"""The demo desk's data hangs together: every entry is valid for its directory, every reference resolves to an entry
written before it, and every ticket journey has a contact of its own (intake keeps one open ticket per contact)."""

from __future__ import annotations

from collections import Counter

import pytest

from shared.directory import load_all
from tools.demo import run as demo_run
from tools.demo.desk import AGENTS, directories
from tools.demo.journeys import STEPS
from tools.demo.run import key_of, report
from tools.demo.tickets import JOURNEYS


def test_every_entry_is_valid_for_its_directory() -> None:
    registered = load_all()
    for name, items in directories().items():
        keys = [key_of(name, doc) for doc in items]
        assert len(keys) == len(set(keys)), f"{name}: duplicate keys"
        for doc in items:
            registered[name].model.model_validate(doc)


def test_references_resolve_to_entries_written_before() -> None:
    d = directories()
    order = list(d)
    ids = {name: {key_of(name, doc) for doc in items} for name, items in d.items()}
    written: list[str] = []
    for line in d["lines"]:
        assert line["escalates_to"] in (None, *written), f"{line['id']} escalates to a line not yet written"
        written.append(line["id"])
    assert {g["line_id"] for g in d["groups"]} <= ids["lines"]
    for agent in d["agents"]:
        assert set(agent["line_ids"]) <= ids["lines"] and set(agent["group_ids"]) <= ids["groups"]
    assert {m["agent_id"] for t in d["teams"] for m in t["members"]} <= ids["agents"]
    assert order.index("teams") > order.index("agents") and order.index("clients") > order.index("teams")
    assert {c["service_team_id"] for c in d["clients"]} - {None} <= ids["teams"]
    assert {c["category"] for c in d["clients"]} <= ids["client-categories"]
    assert {c["client_id"] for c in d["contracts"] + d["contacts"]} <= ids["clients"]
    for policy in d["sla-policies"]:
        assert policy["calendar_id"] in ids["business-calendars"] | {"24x7"}
        assert policy["ladder_id"] in ids["escalation-ladders"]
        assert order.index("sla-policies") > order.index("escalation-ladders")


def test_each_journey_has_its_own_contact_door_and_known_steps() -> None:
    contacts = Counter((j.client, j.contact) for j in JOURNEYS if j.client)
    assert max(contacts.values()) == 1, "two journeys share a contact: intake would merge their tickets"
    contact_ids = {c["id"] for c in directories()["contacts"]}
    assert {f"{client}-{n}" for client, n in contacts} <= contact_ids
    assert len({j.conversation for j in JOURNEYS}) == len({j.key for j in JOURNEYS}) == len(JOURNEYS)
    for j in JOURNEYS:
        assert all(s in STEPS or s.startswith("flag:") for s in j.steps), j.key
        path, body = j.message(1)
        assert path.startswith("/") and body


def test_report_gives_every_person_a_token_command() -> None:
    text = report({"directories": {"lines": (5, 5)}, "tickets": {}, "queues": {"offers": 2}})
    for agent in AGENTS:
        assert f"frontline token --user {agent['id']} --role " in text
    assert "--user demo-admin --role administrator" in text and "offers: 2" in text


def test_demo_refuses_a_production_desk(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Demo tickets and people (with tokens minted from the configured key) never go into a production desk."""
    monkeypatch.setenv("FRONTLINE_ENVIRONMENT", "production")
    monkeypatch.setattr(demo_run, "run", lambda urls: pytest.fail("the demo ran against production"))
    assert demo_run.cli(["--gateway", "http://127.0.0.1:9"]) == 2
    assert "FRONTLINE_ENVIRONMENT=production" in capsys.readouterr().err
