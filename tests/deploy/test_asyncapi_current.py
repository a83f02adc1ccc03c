"""docs/asyncapi.yaml is current, valid AsyncAPI 3.0, complete, and its schemas accept real records.

tests/deploy/schemas/asyncapi-3.0.0.json.gz is the official AsyncAPI 3.0.0 JSON Schema
(``schemas/3.0.0-without-$id.json`` of the npm package @asyncapi/specs 6.11.1, Apache-2.0), kept here so the
check runs offline.
"""

from __future__ import annotations

import copy
import gzip
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from shared.contracts.envelope import envelope_for, registry
from shared.contracts.schemas.common import Channel, Sender
from shared.contracts.schemas.inbound import InboundMessage
from shared.contracts.schemas.tickets import AddNote
from shared.contracts.topics import all_topics_with_dead_letters
from tools import asyncapi

ROOT = Path(__file__).resolve().parents[2]
SPEC_SCHEMA = Path(__file__).parent / "schemas" / "asyncapi-3.0.0.json.gz"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return yaml.safe_load((ROOT / asyncapi.OUTPUT).read_text())


def test_asyncapi_is_current() -> None:
    assert (ROOT / asyncapi.OUTPUT).read_text() == asyncapi.render(), "run `frontline asyncapi` and commit"
    assert asyncapi.cli(["--check"]) == 0


def test_generation_does_not_depend_on_registration_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helpers add models concurrently; import order must not reorder the file."""
    expected = asyncapi.render()
    items = list(registry.all().items())
    random.Random(7).shuffle(items)
    monkeypatch.setattr(registry, "_models", dict(items))
    assert asyncapi.render() == expected


def test_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(json.loads(gzip.decompress(SPEC_SCHEMA.read_bytes())))
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in validator.iter_errors(doc)]
    assert errors == []
    broken = copy.deepcopy(doc)
    next(iter(broken["operations"].values()))["action"] = "publish"  # AsyncAPI 2 wording: invalid in 3
    assert list(validator.iter_errors(broken)), "the spec schema really checks the document"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if isinstance(node.get("$ref"), str) else []) + [r for v in node.values()
                                                                               for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    for ref in set(_refs(doc)):
        assert ref.startswith("#/"), ref
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_every_topic_and_message_is_described(doc: dict[str, Any]) -> None:
    channels = doc["channels"]
    assert list(channels) == [t.name for t in all_topics_with_dead_letters()]
    for t in all_topics_with_dead_letters():
        ch = channels[t.name]
        assert ch["bindings"]["kafka"]["partitions"] == t.partitions
        assert ch["bindings"]["kafka"]["topicConfiguration"]["retention.ms"] == t.retention_ms
        assert t.key in ch["description"] and ch["messages"]
    carried = [name for ch in channels.values() for name in ch["messages"]]
    for (type_name, version) in registry.all():
        assert carried.count(f"{type_name}.v{version}") == 1, f"{type_name} v{version} on exactly one topic"
    assert "InboundMessage.v1" in channels["inbound.messages"]["messages"]
    schemas = doc["components"]["schemas"]
    assert {"Envelope", "InboundMessage"} <= set(schemas)
    assert set(schemas["InboundMessage"]["properties"]) == set(InboundMessage.model_fields)
    receive = doc["operations"]["tickets.receive.tickets.commands"]
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == ["tickets-ledger"]
    assert doc["operations"]["intake.receive.inbound.messages"]["bindings"]["kafka"]["groupId"]["enum"] == [
        "intake-inbound"]
    assert set(doc["components"]["messages"]["DeadLetter"]["headers"]["properties"]) >= {
        "x-dlq-reason", "x-dlq-source-topic", "x-dlq-source-offset"}


def _validator(doc: dict[str, Any], pointer: str) -> jsonschema.Validator:
    reg: Registry = Registry().with_resource("urn:frontline:asyncapi",
                                             Resource.from_contents(doc, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"urn:frontline:asyncapi#{pointer}"}, registry=reg)


def test_schemas_accept_real_records_and_refuse_wrong_ones(doc: dict[str, Any]) -> None:
    env = envelope_for(AddNote(author_id="u1", text="called the client back"), "T-1",
                       occurred_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), actor="u1")
    record = json.loads(env.to_bytes())
    note = _validator(doc, "/components/messages/AddNote.v1/payload")
    note.validate(record)
    with pytest.raises(jsonschema.ValidationError):
        note.validate({**record, "payload": {"author_id": "u1"}})  # text missing
    with pytest.raises(jsonschema.ValidationError):
        note.validate({**record, "type": "PutOnHold"})

    msg = InboundMessage(channel=Channel("email"), external_id="m-1", sender=Sender(email="a@example.com"), text="hi")
    inbound = _validator(doc, "/components/messages/InboundMessage.v1/payload")
    inbound.validate(json.loads(msg.model_dump_json()))
    with pytest.raises(jsonschema.ValidationError):
        inbound.validate({"channel": "pigeon", "external_id": "m-1", "sender": {}})
