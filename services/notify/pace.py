"""How many deliveries a channel keeps leased ahead of its workers: as many as they send in a quarter of a lease.

A delivery leased ahead costs nothing more to hold than to claim (its insert can carry the lease, ``direct.py``), and
every one leased at its insert is one conditional update less. The bound keeps leases from running out queued: at
the pace the workers have been sending, the last one queued is taken with most of its lease left (a worker gives
back one taken too late, ``sending.LEASE_LEFT_TO_SEND``). Before any send the pace is unknown and the ceiling
holds; a slow server lowers the bound within a few sends, to a few rounds of the workers at least.
"""

from __future__ import annotations

MIN_ROUNDS = 8  # at least this many rounds of the workers: half are claimed while the rest keep them busy
MAX_AHEAD = 1024  # the ceiling, and the bound while the pace is unknown
QUEUED_SHARE_OF_LEASE = 0.25  # the time the last one queued may wait, as a share of the lease
SMOOTHING = 0.2  # weight of the newest send in the moving average of a send's time


class Pace:
    """The moving average of one channel's send time, and the depth of queue it allows."""

    def __init__(self, workers: int, lease_seconds: float) -> None:
        self.workers, self.lease_seconds = max(1, workers), lease_seconds
        self.send_seconds: float | None = None

    def sent(self, seconds: float) -> None:
        """One send (a success or a failure) took ``seconds``."""
        prev = self.send_seconds
        self.send_seconds = seconds if prev is None else prev + SMOOTHING * (seconds - prev)

    def capacity(self) -> int:
        low = MIN_ROUNDS * self.workers
        if not self.send_seconds:
            return max(low, MAX_AHEAD)
        ahead = int(self.workers * self.lease_seconds * QUEUED_SHARE_OF_LEASE / self.send_seconds)
        return max(low, min(MAX_AHEAD, ahead))
