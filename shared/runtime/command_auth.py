"""Signed commands: each producer proves who it is on every record it writes to ``tickets.commands``.

A producer signs with its own key (HMAC-SHA256 over its name, the command's type, id and ticket id, and the
record's value bytes) and sends its name and the signature in the ``x-producer`` and ``x-signature`` headers.
The ledger holds every producer's key, so it can tell a forged or unsigned command from a real one and check
the type against :data:`shared.contracts.command_owners.COMMANDS_BY_PRODUCER`. Keys are per producer: a compromised
notify holds only notify's key and cannot sign as the gateway. A replayed dead letter keeps its bytes and
headers, so its signature still holds; replaying a command twice has no second effect (the ledger dedupes ids).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

from pydantic import SecretStr

from shared.contracts.command_owners import COMMAND_PRODUCERS, may_send, owners
from shared.contracts.envelope import Envelope
from shared.contracts.flag_owners import may_set_flag
from shared.runtime.secrets import require_secret
from shared.runtime.settings import CommonSettings

PRODUCER_HEADER, SIGNATURE_HEADER = "x-producer", "x-signature"
UNAUTHENTICATED = "unauthenticated producer"
OWN_KEY_VARIABLE, LEDGER_KEYS_VARIABLE = "FRONTLINE_COMMAND_KEY", "TICKETS_COMMAND_KEYS"
# Development keys derive from this public seed, so `make up` and the tests need no configuration; production
# refuses them (shared.runtime.secrets).
_DEV_SEED = b"frontline-development-command-keys"
_DOMAIN = b"frontline.tickets.commands.v1"


def development_key(producer: str) -> str:
    return hmac.new(_DEV_SEED, producer.encode(), hashlib.sha256).hexdigest()


def signature(key: str, producer: str, env: Envelope, value: bytes) -> str:
    signed = b"\0".join([_DOMAIN, producer.encode(), env.type.encode(), env.id.encode(), env.ticket_id.encode(),
                         value])
    return hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()


def own_key(settings: CommonSettings, producer: str) -> str:
    """This process's signing key: FRONTLINE_COMMAND_KEY, required in production."""
    dev = development_key(producer)
    return require_secret(settings, OWN_KEY_VARIABLE, settings.command_key, dev) or dev


class CommandSigner:
    """Signs as ``producer``; with ``producer=None`` (development only) as each command type's first owner."""

    def __init__(self, producer: str | None, keys: Mapping[str, str]) -> None:
        self.producer, self.keys = producer, dict(keys)

    def headers(self, env: Envelope, value: bytes) -> list[tuple[str, bytes]]:
        producer = self.producer or _stand_in(env)
        key = self.keys.get(producer) if producer else None
        if producer is None or key is None:
            return []  # the ledger dead-letters it as unauthenticated
        return [(PRODUCER_HEADER, producer.encode()), (SIGNATURE_HEADER, signature(key, producer, env, value).encode())]


def _stand_in(env: Envelope) -> str | None:
    """The first owner of the command's type that may send this one (a flag's narrowed owners only their flags)."""
    flag = str(env.payload.get("flag", "")) if env.type == "SetFlag" else None
    return next((p for p in owners(env.type) if flag is None or may_set_flag(p, flag)), None)


def signer_for(settings: CommonSettings, service: str) -> CommandSigner | None:
    """A service that owns commands signs as itself. Tests, benches and tools in development stand in for the
    owner of each command they send (the development keys are public anyway); in production they sign nothing,
    so only replays of records signed by a real producer get through."""
    if service in COMMAND_PRODUCERS:
        return CommandSigner(service, {service: own_key(settings, service)})
    if settings.production:
        return None
    return CommandSigner(None, {p: development_key(p) for p in COMMAND_PRODUCERS})


def verification_keys(settings: CommonSettings, configured: Mapping[str, SecretStr], own: str) -> dict[str, str]:
    """Every producer's key for the ledger: TICKETS_COMMAND_KEYS ({producer: key}) plus its own signing key (it
    sends follow-ups); in production every producer must have one, in development the rest are derived."""
    keys = {own: own_key(settings, own)}
    for producer in COMMAND_PRODUCERS:
        if producer != own:
            dev = development_key(producer)
            value = configured.get(producer)
            keys[producer] = require_secret(settings, f"{LEDGER_KEYS_VARIABLE}[{producer}]", value, dev) or dev
    return keys


class CommandVerifier:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self.keys = dict(keys)

    def refusal(self, headers: Iterable[tuple[str, bytes]], env: Envelope, value: bytes) -> str | None:
        """Why the ledger must not apply this command (None: a known producer signed it and owns its type)."""
        given = {k: v for k, v in headers}
        producer = given.get(PRODUCER_HEADER, b"").decode(errors="replace")
        sig = given.get(SIGNATURE_HEADER, b"")
        if not producer or not sig:
            return f"{UNAUTHENTICATED}: the command is not signed"
        key = self.keys.get(producer)
        if key is None:
            return f"{UNAUTHENTICATED}: unknown producer {producer[:60]!r}"
        if not hmac.compare_digest(signature(key, producer, env, value).encode(), sig):
            return f"{UNAUTHENTICATED}: the signature is not {producer}'s"
        if not may_send(producer, env.type):
            return f"producer {producer} may not send {env.type}"
        return None
