"""Signed commands: one declaration of who owns which command, per-producer keys, and what the check refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

import shared.contracts.schemas  # noqa: F401  (registers every message model)
from shared.contracts.command_owners import COMMAND_PRODUCERS, COMMANDS_BY_PRODUCER, owners
from shared.contracts.envelope import Envelope, envelope_for, registry
from shared.contracts.schemas import tickets as t
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.command_auth import (
    PRODUCER_HEADER,
    SIGNATURE_HEADER,
    CommandVerifier,
    development_key,
    own_key,
    signer_for,
    verification_keys,
)
from shared.runtime.secrets import StartupSecretError
from shared.runtime.settings import CommonSettings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DEV = CommonSettings()
PROD = CommonSettings(environment="production")  # type: ignore[call-arg]


def claim(ticket_id: str = "T-1") -> Envelope:
    return envelope_for(t.ClaimTicket(agent_id="ann"), ticket_id, occurred_at=NOW, actor="ann")


def signed(service: str, env: Envelope, settings: CommonSettings = DEV) -> tuple[list[tuple[str, bytes]], bytes]:
    signer = signer_for(settings, service)
    assert signer is not None
    value = env.to_bytes()
    return signer.headers(env, value), value


def dev_verifier() -> CommandVerifier:
    return CommandVerifier(verification_keys(DEV, {}, "tickets"))


def test_every_owned_type_is_a_ledger_command_and_only_set_deadline_has_no_sender() -> None:
    commands = {name for (name, _), model in registry.all().items() if model.KIND == "command"}
    owned = set().union(*COMMANDS_BY_PRODUCER.values())
    assert owned <= commands, owned - commands
    # Nobody sends SetDeadline yet; a service that starts to declares it in shared/contracts/command_owners.py.
    assert commands - owned == {"SetDeadline"}


def test_the_topic_lists_exactly_the_declared_producers() -> None:
    assert TICKETS_COMMANDS.producers == COMMAND_PRODUCERS
    assert "tickets" in TICKETS_COMMANDS.producers, "the ledger's follow-ups need write access too"


def test_a_producer_signs_as_itself_and_the_ledger_accepts_what_it_owns() -> None:
    env = claim()
    headers, value = signed("gateway", env)
    assert dict(headers)[PRODUCER_HEADER] == b"gateway"
    assert dev_verifier().refusal(headers, env, value) is None


def test_a_producer_sending_a_command_it_does_not_own_is_refused_by_name() -> None:
    env = claim()
    headers, value = signed("notify", env)
    assert dev_verifier().refusal(headers, env, value) == "producer notify may not send ClaimTicket"


@pytest.mark.parametrize("tamper", ["unsigned", "other key", "changed value", "unknown producer", "not hex"])
def test_unsigned_or_forged_commands_are_unauthenticated(tamper: str) -> None:
    env = claim()
    headers, value = signed("gateway", env)
    if tamper == "unsigned":
        headers = []
    elif tamper == "other key":  # notify signs with its own key but claims to be the gateway
        notify, _ = signed("notify", env)
        headers = [(PRODUCER_HEADER, b"gateway"), (SIGNATURE_HEADER, dict(notify)[SIGNATURE_HEADER])]
    elif tamper == "changed value":  # the signature of another command's bytes
        value = claim("T-2").to_bytes()
    elif tamper == "unknown producer":
        headers = [(PRODUCER_HEADER, b"mallory"), (SIGNATURE_HEADER, dict(headers)[SIGNATURE_HEADER])]
    else:
        headers = [(PRODUCER_HEADER, b"gateway"), (SIGNATURE_HEADER, "ü".encode())]
    refusal = dev_verifier().refusal(headers, env, value)
    assert refusal is not None and refusal.startswith("unauthenticated producer")


def test_each_producer_has_its_own_development_key() -> None:
    keys = [development_key(p) for p in COMMAND_PRODUCERS]
    assert len(set(keys)) == len(keys)


def test_in_development_a_test_or_tool_stands_in_for_the_owner_in_production_it_signs_nothing() -> None:
    env = claim()
    headers, value = signed("test", env)
    assert dict(headers)[PRODUCER_HEADER] == owners("ClaimTicket")[0].encode() == b"gateway"
    assert dev_verifier().refusal(headers, env, value) is None
    assert signer_for(PROD, "replay") is None


def test_production_refuses_to_start_a_producer_without_its_own_key() -> None:
    with pytest.raises(StartupSecretError, match="FRONTLINE_COMMAND_KEY"):
        signer_for(PROD, "gateway")
    with pytest.raises(StartupSecretError, match="FRONTLINE_COMMAND_KEY"):
        own_key(PROD.model_copy(update={"command_key": SecretStr(development_key("gateway"))}), "gateway")


def test_production_ledger_needs_every_producers_key_and_verifies_with_them() -> None:
    real = {p: SecretStr(f"{p}-key-0123456789abcdef") for p in COMMAND_PRODUCERS if p != "tickets"}
    ledger = PROD.model_copy(update={"command_key": SecretStr("tickets-key-0123456789abcdef")})
    missing = {p: k for p, k in real.items() if p != "sla"}
    with pytest.raises(StartupSecretError, match=r"TICKETS_COMMAND_KEYS\[sla\]"):
        verification_keys(ledger, missing, "tickets")
    verifier = CommandVerifier(verification_keys(ledger, real, "tickets"))
    gateway = PROD.model_copy(update={"command_key": real["gateway"]})
    env = claim()
    headers, value = signed("gateway", env, gateway)
    assert verifier.refusal(headers, env, value) is None
    dev_headers, _ = signed("gateway", env)
    assert verifier.refusal(dev_headers, env, value) == "unauthenticated producer: the signature is not gateway's"


def test_a_tests_stand_in_signs_a_flag_as_an_owner_that_may_set_it() -> None:
    """Intake owns SetFlag for quarantine flags only: a stand-in signer picks it for those and routing for others."""
    signer = signer_for(DEV, "test")
    assert signer is not None

    def producer_of(flag: str) -> bytes:
        env = envelope_for(t.SetFlag(flag=flag), "T-1", occurred_at=NOW)
        return dict(signer.headers(env, b"{}"))[PRODUCER_HEADER]

    assert producer_of("attachment_quarantined:f1") == b"intake"
    assert producer_of("sla_breached") == b"routing"
