"""At risk of breaching: the flag that makes an SLA warning visible on the ticket and in the ``at_risk`` queue.

A ticket is at risk while one of its targets has been warned and is neither met nor breached, the ticket is
still open and none of its targets has breached yet (a breached ticket is overdue, not at risk). The clock
remembers what it last told the ledger, so the flag is sent once per change, whichever event or timer made it.
"""

from __future__ import annotations

from shared.contracts.schemas import tickets
from shared.contracts.schemas.common import ACTIVE_STATUSES

from .model import SlaClock

AT_RISK = "sla_at_risk"


def target_at_risk(clock: SlaClock) -> str | None:
    """The target that puts the ticket at risk (the one due first), or None."""
    if clock.status not in ACTIVE_STATUSES or any(tc.breached for tc in clock.targets.values()):
        return None
    warned = [(tc.due_at, name) for name, tc in clock.targets.items()
              if tc.warned and tc.met_at is None and tc.due_at is not None]
    return min(warned)[1] if warned else None


def flag_change(clock: SlaClock) -> tickets.SetFlag | None:
    """The SetFlag that brings the ticket's flag in line with ``clock``, recording that it was sent; or None."""
    target = target_at_risk(clock)
    if (target is not None) == clock.at_risk_flagged:
        return None
    clock.at_risk_flagged = target is not None
    if target is None:
        return tickets.SetFlag(flag=AT_RISK, value=False, reason="no SLA target at risk any more (met, breached or the "
                                                           "ticket resolved)")
    due = clock.targets[target].due_at
    assert due is not None
    return tickets.SetFlag(flag=AT_RISK, value=True, reason=f"{target} target at risk: due {due.isoformat()}")
