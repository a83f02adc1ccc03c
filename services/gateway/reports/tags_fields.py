"""Reports by tag and by a custom field's value, and the report filters on both (issue 22).

Tickets opened in the period, like ``channels``. A multiselect field counts a ticket once under each of its values;
the grouping is done on the stored value and spread over a list's values here, in Python, so the pipeline uses only
operators the embedded database runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from .models import Report
from .pipelines import DONE, OPEN, Pipeline, filter_match, in_period, one_of, share


class TagRow(BaseModel):
    tag: str
    total: int
    open: int
    done: int


class TagsReport(Report):
    """Tickets opened in the period, per tag they carry now (a ticket counts under each of its tags)."""

    ROW: ClassVar[type[BaseModel]] = TagRow
    NAME: ClassVar[str] = "tags"
    tagged: int = Field(description="Tickets carrying at least one tag")
    rows: list[TagRow]


class FieldValueRow(BaseModel):
    value: str | None = Field(description="The field's value; null: not set")
    total: int
    open: int
    done: int
    share: float = Field(description="Of the tickets opened in the period (a multiselect's shares may sum over 1)")


class CustomFieldReport(Report):
    """Tickets opened in the period, per value of one custom field."""

    ROW: ClassVar[type[BaseModel]] = FieldValueRow
    NAME: ClassVar[str] = "custom-fields"
    field: str
    total: int
    rows: list[FieldValueRow]


# ---- pipelines and rows ------------------------------------------------------------------------------


def _counts() -> dict[str, Any]:
    return {"total": {"$sum": 1}, "open": {"$sum": one_of("$status", OPEN)}, "done": {"$sum": one_of("$status", DONE)}}


def tags_pipeline(start: datetime, end: datetime, filters: Any = None) -> Pipeline:
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$project": {"tags": 1, "status": 1}},
        {"$group": {"_id": "$tags", **_counts()}},
    ]


def field_pipeline(start: datetime, end: datetime, field: str, filters: Any = None) -> Pipeline:
    return [
        {"$match": {**in_period("created_at", start, end), **filter_match(filters)}},
        {"$project": {"value": f"$custom_fields.{field}", "status": 1}},
        {"$group": {"_id": "$value", **_counts()}},
    ]


def _spread(groups: Iterable[dict[str, Any]]) -> tuple[int, dict[str | None, dict[str, int]]]:
    """Each group's counts under every value of its key (a list: each element; None or []: None)."""
    total, out = 0, dict[str | None, dict[str, int]]()
    for g in groups:
        total += int(g["total"])
        key = g["_id"]
        keys = list(dict.fromkeys(key)) if isinstance(key, list) else [key]
        for k in keys or [None]:
            row = out.setdefault(None if k is None else str(k), {"total": 0, "open": 0, "done": 0})
            for name in row:
                row[name] += int(g[name])
    return total, out


def tag_rows(groups: Iterable[dict[str, Any]]) -> tuple[int, list[TagRow]]:
    """(tickets carrying a tag, one row per tag)."""
    groups = list(groups)
    tagged = sum(int(g["total"]) for g in groups if isinstance(g["_id"], list) and g["_id"])
    _, spread = _spread(groups)
    spread.pop(None, None)
    return tagged, sorted((TagRow(tag=k, **v) for k, v in spread.items()), key=lambda r: (-r.total, r.tag))


def field_rows(groups: Iterable[dict[str, Any]]) -> tuple[int, list[FieldValueRow]]:
    total, spread = _spread(groups)
    rows = [FieldValueRow(value=k, share=share(v["total"], total) or 0.0, **v) for k, v in spread.items()]
    rows.sort(key=lambda r: (-r.total, r.value is None, r.value or ""))
    return total, rows
