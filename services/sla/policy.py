"""Which SLA policy and which targets apply to a ticket: client/contract first, then category, then service."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.directory.custom_fields import conditions_hold
from shared.directory.sla import SlaNorm, SlaPolicy, Targets

Score = tuple[int, int, int, int]


@dataclass(frozen=True)
class Facts:
    client_id: str | None = None
    contract_id: str | None = None
    category: str | None = None
    service_id: str | None = None
    priority: str | None = None
    ticket_type: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)


def _score(policy: SlaPolicy, facts: Facts) -> Score | None:
    """None if a non-empty selector does not match; else how specifically it matched (compared in order)."""
    checks = (
        (policy.contract_ids or policy.client_ids,
         (facts.contract_id in policy.contract_ids) or (facts.client_id in policy.client_ids)),
        (policy.categories, facts.category in policy.categories),
        (policy.service_ids, facts.service_id in policy.service_ids),
        (policy.when_fields, conditions_hold(policy.when_fields, facts.custom_fields)),
    )
    score = []
    for selector, matched in checks:
        if selector and not matched:
            return None
        score.append(1 if selector else 0)
    return score[0], score[1], score[2], score[3]


def choose_policy(policies: Iterable[SlaPolicy], facts: Facts, default: SlaPolicy) -> SlaPolicy:
    """The most specific matching active policy; ties go to the lowest id so the choice is stable."""
    best: tuple[Score, str, SlaPolicy] | None = None
    for policy in policies:
        if not policy.active:
            continue
        score = _score(policy, facts)
        if score is None:
            continue
        key = (score, policy.id)
        if best is None or score > best[0] or (score == best[0] and policy.id < best[1]):
            best = (key[0], key[1], policy)
    return best[2] if best else default


def _norm_score(norm: SlaNorm, facts: Facts) -> int | None:
    score = 0
    for wanted, actual in ((norm.priority, facts.priority), (norm.ticket_type, facts.ticket_type),
                           (norm.service_id, facts.service_id)):
        if wanted is None:
            continue
        if wanted != actual:
            return None
        score += 1
    return score


def effective_targets(policy: SlaPolicy, facts: Facts) -> Targets:
    """The policy's base targets overridden by its most specific matching extra norm (set fields only)."""
    matches = [(s, i, n) for i, n in enumerate(policy.norms) if (s := _norm_score(n, facts)) is not None]
    if not matches:
        return policy.targets
    _, _, norm = max(matches, key=lambda m: (m[0], -m[1]))
    override = norm.targets.model_dump(exclude_none=True)
    return policy.targets.model_copy(update=override)
