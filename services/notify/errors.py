"""How a delivery attempt failed: the dispatcher retries transient failures and dead-letters permanent ones."""

from __future__ import annotations


class SendError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


def transient(reason: str) -> SendError:
    return SendError(reason, permanent=False)


def permanent(reason: str) -> SendError:
    return SendError(reason, permanent=True)
