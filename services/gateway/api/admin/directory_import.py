"""Administrators import clients, contracts and contacts from a CSV or JSON file: the same rows and writing as
``frontline import contacts`` (``shared.directory.contacts_import``), audited under the administrator's id."""

from __future__ import annotations

import csv
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, Field

from shared.directory.contacts_import import read_rows
from shared.directory.contacts_importer import Importer
from shared.runtime.problems import ProblemError, problem_responses

from ...access.principal import UserRole
from ..deps import Ctx, CurrentPrincipal, require

ADMIN = frozenset({UserRole.administrator})


class RowProblem(BaseModel):
    row: str = Field(description="CSV line number or JSON item position")
    reason: str


class ImportReport(BaseModel):
    rows: int
    imported: int
    failed: int
    counts: dict[str, dict[str, int]] = Field(description="Per directory: created / updated / unchanged entries")
    errors: list[RowProblem]


def router() -> APIRouter:
    r = APIRouter(prefix="/admin/import", tags=["directories"])  # included by directories.router (/api/v1)

    @r.post("/contacts", response_model=ImportReport, responses=problem_responses(401, 403, 413, 422),
            summary="Import clients, contracts and contacts (CSV with a header row, or JSON); bad rows are reported "
                    "by line and the rest imported; importing the same file again changes nothing")
    async def import_contacts(p: CurrentPrincipal, ctx: Ctx, file: Annotated[UploadFile, File()],
                              format: Annotated[Literal["csv", "json"] | None,  # noqa: A002 - the CLI's name
                                                Query(description="Default: from the file name")] = None,
                              region: Annotated[str, Query(pattern=r"^[A-Z]{2}$", description="For phone numbers "
                                                                                              "without a country "
                                                                                              "code")] = "RU",
                              ) -> dict[str, Any]:
        require(p, ADMIN, "importing directories")
        fmt = format or ("json" if (file.filename or "").lower().endswith(".json") else "csv")
        try:
            rows = read_rows((await file.read()).decode("utf-8-sig"), fmt)
        except (UnicodeDecodeError, ValueError, csv.Error) as exc:
            raise ProblemError(422, "Unreadable file", f"cannot read the file as {fmt.upper()}: {exc}") from None
        if not rows:
            raise ProblemError(422, "Nothing to import", "the file has no rows (a CSV needs a header row and rows)")
        report = await Importer(ctx.reads.db, actor=p.user_id, at=ctx.clock.now()).run(rows, region)
        return report.as_dict()

    return r
