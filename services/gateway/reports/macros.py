"""The macros report: how often each macro was applied, by whom, per day (issue 22).

Each use keeps the ticket's scope and filter fields as they were when the macro was applied
(``api/macro_store.py``), so the report's filters and the reader's scope apply to uses exactly as to tickets.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from .models import Report
from .pipelines import Pipeline, filter_match, in_period, one_of


class MacroUseRow(BaseModel):
    day: str = Field(description="UTC date of the applications")
    macro_id: str
    macro_name: str
    agent_id: str
    uses: int = Field(description="Applications (a retried request counts once)")
    completed: int = Field(description="Of them, those whose every command the ledger carried out")


class MacrosReport(Report):
    """Macro applications in the period, per macro, agent and day."""

    ROW: ClassVar[type[BaseModel]] = MacroUseRow
    NAME: ClassVar[str] = "macros"
    uses: int = Field(description="Applications in the period")
    rows: list[MacroUseRow]


def uses_pipeline(start: datetime, end: datetime, filters: Any = None) -> Pipeline:
    return [
        {"$match": {**in_period("at", start, end), **filter_match(filters)}},
        {"$group": {"_id": {"macro_id": "$macro_id", "agent_id": "$agent_id", "day": "$day"},
                    "macro_name": {"$max": "$macro_name"}, "uses": {"$sum": 1},
                    "completed": {"$sum": one_of("$outcome", ["done"])}}},
    ]


def use_rows(groups: Iterable[dict[str, Any]]) -> list[MacroUseRow]:
    rows = [MacroUseRow(**g["_id"], macro_name=str(g.get("macro_name") or ""), uses=int(g["uses"]),
                        completed=int(g["completed"])) for g in groups]
    return sorted(rows, key=lambda r: (r.day, r.macro_name, r.macro_id, r.agent_id))
