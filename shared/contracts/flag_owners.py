"""Which flags a producer may set, where owning ``SetFlag`` (``command_owners.py``) is more than its job needs.

Intake and the gateway send ``SetFlag`` only to mark a quarantined file on its ticket; owning the type would let
either, compromised, set or clear any flag (clear ``sla_breached``, say). The ledger applies their ``SetFlag`` only
for the names declared here (``services/tickets/producer_check.py``). Routing and SLA set the flags their
administrators' rules name, so their flag names are not a fixed list and they are not narrowed here.
"""

from __future__ import annotations

QUARANTINE_FLAG = "attachment_quarantined:"  # + the file's id

# A name ending in ":" is a prefix (something must follow it); any other is one exact flag.
FLAGS_BY_PRODUCER: dict[str, tuple[str, ...]] = {
    "intake": (QUARANTINE_FLAG,),
    "gateway": (QUARANTINE_FLAG,),
}


def _matches(declared: str, flag: str) -> bool:
    return flag.startswith(declared) and len(flag) > len(declared) if declared.endswith(":") else flag == declared


def may_set_flag(producer: str, flag: str) -> bool:
    """Whether ``producer``, which owns ``SetFlag``, may set or clear ``flag``."""
    declared = FLAGS_BY_PRODUCER.get(producer)
    return declared is None or any(_matches(d, flag) for d in declared)
