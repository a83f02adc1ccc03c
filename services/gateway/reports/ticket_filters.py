"""Ticket filters of the reports on tags and custom field values (``ReportFilters.tags`` / ``.fields``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from shared.contracts.schemas.tickets import FIELD_ID

FIELD_FILTER = re.compile(rf"^({FIELD_ID[1:-1]})=(.{{1,200}})$", re.DOTALL)


def field_match(pairs: Sequence[str] | None) -> dict[str, Any]:
    """``id=value`` pairs as a ticket filter: values of one field are alternatives, different fields all hold.
    A number matches its numeric value too (a number field stores numbers)."""
    wanted: dict[str, list[Any]] = {}
    for pair in pairs or ():
        found = FIELD_FILTER.match(pair)
        if found is None:
            raise ValueError(f"a field filter is id=value (id: lower-case letters, digits, _); not {pair[:80]!r}")
        name, value = found.groups()
        values = wanted.setdefault(f"custom_fields.{name}", [])
        values.append(value)
        try:
            values.append(float(value))
        except ValueError:
            pass
    return {path: {"$in": values} for path, values in wanted.items()}


def tag_match(tags: Sequence[str] | None) -> dict[str, Any]:
    return {"tags": {"$in": [t.strip().lower() for t in tags]}} if tags else {}
