"""Rules across a directory's entries, checked before a write: a refused write changes and audits nothing.

Only problems the write would add are refused, so a desk whose data predates a rule can still fix it one entry
at a time. Two simultaneous writes may each pass alone; the readers' rules tolerate what slips through (a loop
ends, a choice claimed twice has one deterministic winner).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from shared.directory import Directory, DirectoryStore
from shared.directory.contacts import CLIENTS
from shared.directory.custom_fields import CUSTOM_FIELDS, check_values
from shared.directory.line_chain import line_problems
from shared.directory.routing import LINES
from shared.runtime.problems import ProblemError

Check = Callable[[Mapping[str, Any]], list[str]]
CHECKS: dict[str, Check] = {LINES.name: line_problems}


async def _entries(db: AsyncDatabase, d: Directory[Any]) -> dict[str, BaseModel]:
    return {str(getattr(e, d.key)): e for e in await DirectoryStore(db, d).list(limit=100_000)}


def _added(check: Check, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    old = set(check(before))
    return [p for p in check(after) if p not in old]


async def _client_fields(db: AsyncDatabase, item: BaseModel) -> None:
    """A client's custom field values must fit their client-level definitions, as the ledger checks a ticket's."""
    values = getattr(item, "custom_fields", None) or {}
    if not values:
        return
    definitions = await DirectoryStore(db, CUSTOM_FIELDS).list(limit=10_000)
    _, problems = check_values(definitions, values, level="client")
    if problems:
        raise ProblemError(422, "Invalid custom field values", "; ".join(problems), code="invalid_custom_field")


async def check_put(db: AsyncDatabase, d: Directory[Any], key: str, item: BaseModel) -> None:
    """422 problem naming what writing ``item`` at ``key`` would break."""
    if d.name == CLIENTS.name:
        await _client_fields(db, item)
    check = CHECKS.get(d.name)
    if check is None:
        return
    before = await _entries(db, d)
    if problems := _added(check, before, {**before, key: item}):
        raise ProblemError(422, f"Inconsistent {d.name}", "; ".join(problems), code="directory_rule")


async def check_delete(db: AsyncDatabase, d: Directory[Any], key: str) -> None:
    """409 problem naming what deleting ``key`` would break (another entry still names it)."""
    check = CHECKS.get(d.name)
    if check is None:
        return
    before = await _entries(db, d)
    if problems := _added(check, before, {k: v for k, v in before.items() if k != key}):
        raise ProblemError(409, f"{d.name}/{key} is still needed", "; ".join(problems), code="directory_rule")
