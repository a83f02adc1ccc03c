"""What a crash or a failed publish left behind, recovered: leases that ran out, holds no event will release, outcomes
never published. Rare work, so the sweeper rests long when it finds none."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from shared.runtime.clock import Clock

from .ordering import HOLD_LIMIT
from .settings import NotifySettings
from .store import NotifyStore

log = logging.getLogger(__name__)
# The rest of a sweeper that finds nothing (leases last minutes; a lost outcome waits this long at most).
SWEEP_IDLE_MAX_SECONDS = 15.0


class Sweeper:
    """The dispatcher's recovery (a part of it: ``Dispatcher.__init__`` sets the state used here)."""

    store: NotifyStore
    clock: Clock
    s: NotifySettings

    if TYPE_CHECKING:  # the dispatcher's own
        def wake(self, channels: set[str] | None = None) -> None: ...

        async def publish_outcomes(self, docs: list[dict[str, Any]]) -> None: ...

    async def sweep(self) -> bool:
        """Recover what a crash or a failed publish left; True when there was something to recover."""
        found = bool(await self.store.release_expired(self.clock.now()))
        if await self.store.release_stale_holds(self.clock.now() - HOLD_LIMIT):
            found = True
        for d in await self.store.unpublished():
            # Leave fresh outcomes to the worker that is publishing them right now (if it fails, the next sweep,
            # however rested, publishes them), and those published whose mark is on its way.
            at = d.get("sent_at") or d.get("failed_at")
            if self.store.publishing(d["_id"]) or (at is not None and (self.clock.now() - at).total_seconds() < 5):
                continue
            found = True
            await self.publish_outcomes([d])
        if found:
            self.wake()
        return found

    async def _sweeper(self) -> None:
        """Sweeps every ``poll_interval * 4`` (at least 1 s) while they find work, else every
        ``SWEEP_IDLE_MAX_SECONDS``: recovery is never urgent and an idle desk stays quiet."""
        base = max(self.s.poll_interval * 4, 1.0)
        try:  # once, off the start's path: it reads every sent and failed delivery
            await self.store.flag_unpublished()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next start tries again
            log.exception("flagging unpublished outcomes failed")
        while True:
            found = True
            try:
                found = await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify sweep failed")
            await asyncio.sleep(base if found else max(base, SWEEP_IDLE_MAX_SECONDS))
