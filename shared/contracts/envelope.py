"""The event envelope and the registry from message type name to versioned pydantic model.

Every record on a ticket topic is an :class:`Envelope` whose ``payload`` validates
against the model registered for ``(type, version)``. Unknown types and versions
from the future are refused (they go to a dead-letter topic), never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.runtime.clock import as_utc
from shared.runtime.ids import derived_id, new_id

Kind = Literal["command", "event", "inbound"]


class Message(BaseModel):
    """Base of every command and event payload."""

    model_config = ConfigDict(extra="forbid")
    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    KIND: ClassVar[Kind] = "event"


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_id)
    type: str
    version: int = 1
    ticket_id: str = Field(min_length=1, description="Partition key.")
    occurred_at: datetime
    causation_id: str | None = None
    correlation_id: str | None = None
    actor: str | None = Field(None, description="User or service that caused this, for the ticket history.")
    payload: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)

    def message(self) -> Message:
        return registry.parse(self)


class RegistryError(ValueError):
    """A record whose type or version we cannot read: dead-letter it with this reason."""


M = TypeVar("M", bound=type[Message])


class Registry:
    def __init__(self) -> None:
        self._models: dict[tuple[str, int], type[Message]] = {}
        self._upcasters: dict[tuple[str, int], Callable[[dict[str, Any]], dict[str, Any]]] = {}

    def register(self, type_name: str, version: int = 1, kind: Kind = "event") -> Callable[[M], M]:
        def wrap(cls: M) -> M:
            key = (type_name, version)
            if key in self._models and self._models[key] is not cls:
                raise RuntimeError(f"message {type_name} v{version} registered twice")
            cls.TYPE, cls.VERSION, cls.KIND = type_name, version, kind
            self._models[key] = cls
            return cls

        return wrap

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a function turning a v(N) payload into v(N+1), so old records stay readable."""

        def wrap(fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[dict[str, Any]], dict[str, Any]]:
            self._upcasters[(type_name, from_version)] = fn
            return fn

        return wrap

    def latest_version(self, type_name: str) -> int:
        versions = [v for (t, v) in self._models if t == type_name]
        if not versions:
            raise RegistryError(f"unknown message type {type_name!r}")
        return max(versions)

    def model(self, type_name: str, version: int | None = None) -> type[Message]:
        version = version or self.latest_version(type_name)
        try:
            return self._models[(type_name, version)]
        except KeyError:
            raise RegistryError(f"unknown message {type_name!r} v{version}") from None

    def parse(self, env: Envelope) -> Message:
        latest = self.latest_version(env.type)
        if env.version > latest:
            raise RegistryError(f"{env.type} v{env.version} is from the future (this build reads up to v{latest})")
        payload, version = dict(env.payload), env.version
        while version < latest and (env.type, version) in self._upcasters:
            payload = self._upcasters[(env.type, version)](payload)
            version += 1
        try:
            return self.model(env.type, version).model_validate(payload)
        except ValidationError as exc:
            raise RegistryError(f"invalid {env.type} v{env.version} payload: {exc}") from exc

    def all(self) -> dict[tuple[str, int], type[Message]]:
        return dict(self._models)


registry = Registry()
message = registry.register


def envelope_for(
    msg: Message,
    ticket_id: str,
    *,
    occurred_at: datetime,
    cause: Envelope | None = None,
    actor: str | None = None,
    id: str | None = None,
    correlation_id: str | None = None,
) -> Envelope:
    """Wrap a payload; causation and correlation follow from the envelope that caused it."""
    return Envelope(
        id=id or new_id(),
        type=msg.TYPE,
        version=msg.VERSION,
        ticket_id=ticket_id,
        occurred_at=as_utc(occurred_at),
        causation_id=cause.id if cause else None,
        correlation_id=correlation_id or (cause.correlation_id or cause.id if cause else None),
        actor=actor if actor is not None else (cause.actor if cause else None),
        payload=msg.model_dump(mode="json"),
    )


def caused_id(cause: Envelope | str, *parts: object) -> str:
    """Id of something caused by ``cause``: stable across redelivery of the cause."""
    return derived_id(cause.id if isinstance(cause, Envelope) else cause, *parts)
