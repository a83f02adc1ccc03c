"""Send a command to the ledger and wait briefly for what it recorded (or why it refused)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from shared.contracts.envelope import Envelope, Message, envelope_for
from shared.contracts.topics import TICKETS_COMMANDS
from shared.runtime.clock import Clock
from shared.runtime.ids import derived_id, new_id
from shared.runtime.kafka import KafkaBus

from ..access.principal import Principal
from .hub import EventHub


@dataclass
class Outcome:
    command_id: str
    ticket_id: str
    state: str  # "done" | "rejected" | "pending"
    event: Envelope | None = None
    ticket: dict[str, Any] | None = None  # as the event hub read it on the answer (without history), if it did

    @property
    def reason(self) -> str | None:
        return str(self.event.payload.get("reason")) if self.event and self.state == "rejected" else None

    @property
    def code(self) -> str | None:
        return str(self.event.payload.get("code")) if self.event and self.state == "rejected" else None


def command_id(principal: Principal, idempotency_key: str | None, *parts: Any) -> str:
    """A client-supplied Idempotency-Key makes a retried HTTP call the same command (one effect)."""
    if idempotency_key:
        return derived_id("gateway", principal.user_id, idempotency_key, *parts)
    return new_id()


NoopProbe = Callable[[list[str]], Awaitable[set[str]]]
# The first look for no-ops after a second (GATEWAY_NOOP_PROBE_AFTER_SECONDS), then ever less often: each look is
# a database read, and the ledger answers nearly every command with an event well before, so the look is
# only paid by the rare command that was already done (and by a ledger slowed by load).
PROBE_AFTER = 1.0


class Commander:
    """``noop_probe`` finds commands the ledger accepted without recording anything (already done):
    they publish no event, so without it such a call would wait the whole time and answer 202."""

    def __init__(self, bus: KafkaBus, hub: EventHub, clock: Clock, wait_seconds: float,
                 noop_probe: NoopProbe | None = None, probe_after: float = PROBE_AFTER) -> None:
        self.bus, self.hub, self.clock, self.wait_seconds = bus, hub, clock, wait_seconds
        self.noop_probe, self.probe_after = noop_probe, probe_after

    def envelope(self, principal: Principal, ticket_id: str, msg: Message, cmd_id: str) -> Envelope:
        return envelope_for(msg, ticket_id, occurred_at=self.clock.now(), actor=principal.user_id, id=cmd_id,
                            correlation_id=cmd_id)

    async def send(self, principal: Principal, ticket_id: str, msg: Message, cmd_id: str,
                   wait: float | None = None) -> Outcome:
        outcomes = await self.send_many(principal, [(ticket_id, msg, cmd_id)], wait)
        return outcomes[0]

    async def send_many(self, principal: Principal, items: list[tuple[str, Message, str]],
                        wait: float | None = None) -> list[Outcome]:
        envs = [self.envelope(principal, tid, msg, cid) for tid, msg, cid in items]
        futures = [self.hub.expect(e.id) for e in envs]
        try:
            await self.bus.publish_many(TICKETS_COMMANDS, envs)
            noops = await self._wait(envs, futures, self.wait_seconds if wait is None else wait)
            out: list[Outcome] = []
            for env, fut in zip(envs, futures, strict=True):
                if fut.done() and not fut.cancelled():
                    ev = fut.result()
                    out.append(Outcome(env.id, env.ticket_id, "rejected" if ev.type == "CommandRejected" else "done",
                                       ev, self._ticket(env)))
                else:
                    out.append(Outcome(env.id, env.ticket_id, "done" if env.id in noops else "pending"))
            return out
        finally:
            for env, fut in zip(envs, futures, strict=True):
                self.hub.forget(env.id)
                fut.cancel()

    def _ticket(self, env: Envelope) -> dict[str, Any] | None:
        """What the hub read on the answer, if the answer came on the command's own ticket."""
        doc = self.hub.answered_ticket(env.id)
        return doc if doc is not None and doc.get("_id") == env.ticket_id else None

    async def _wait(self, envs: list[Envelope], futures: list[asyncio.Future[Envelope]], timeout: float) -> set[str]:
        """Wait for every answer; between slices, ask the ledger's record which ones were no-ops."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        noops: set[str] = set()
        pause = self.probe_after
        while True:
            waiting = [f for e, f in zip(envs, futures, strict=True) if not f.done() and e.id not in noops]
            left = deadline - loop.time()
            if not waiting or left <= 0:
                return noops
            await asyncio.wait(waiting, timeout=min(pause, left))
            pause *= 2
            if self.noop_probe is not None:
                pending = [e.id for e, f in zip(envs, futures, strict=True) if not f.done() and e.id not in noops]
                if pending:
                    noops |= await self.noop_probe(pending)
