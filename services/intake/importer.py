"""``frontline import contacts FILE``: bulk-load clients, contracts and contact persons from CSV or JSON.

The rows and their writing are ``shared.directory.contacts_import`` / ``contacts_importer`` (the gateway's
``POST /api/v1/admin/import/contacts`` runs the same); this is the command line around them.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any

from shared.directory.contacts_import import Report, read_rows
from shared.directory.contacts_import import category_id as category_id
from shared.directory.contacts_import import validate_row as validate_row
from shared.directory.contacts_importer import Importer


def read_file(path: Path, fmt: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    fmt = fmt or ("json" if path.suffix.lower() == ".json" else "csv")
    return read_rows(path.read_text(encoding="utf-8-sig"), fmt)


async def import_rows(rows: list[tuple[str, dict[str, Any]]], *, settings: Any = None,
                      actor: str = "import") -> Report:
    from shared.runtime.mongo import database, ensure_indexes, mongo_client

    from .settings import IntakeSettings
    from .store import INDEXES

    settings = settings or IntakeSettings()
    client = mongo_client(settings)
    try:
        db = database(client, settings)
        await ensure_indexes(db, INDEXES)
        return await Importer(db, actor=actor).run(rows, settings.default_region)
    finally:
        await client.close()


def cli(argv: list[str]) -> int:
    """0: everything imported; 1: some rows failed (the rest imported); 2: the file could not be read."""
    parser = argparse.ArgumentParser(prog="frontline import", description="Bulk-import directories")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("contacts", help="clients, contracts and contact persons from CSV or JSON")
    p.add_argument("file", type=Path)
    p.add_argument("--format", choices=["csv", "json"], help="default: from the file extension")
    p.add_argument("--actor", default="import", help="who to record in the directory audit trail")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    try:
        rows = read_file(args.file, args.format)
    except (OSError, ValueError, csv.Error) as exc:
        print(f"cannot import {args.file}: {exc}", file=sys.stderr)
        return 2
    report = asyncio.run(import_rows(rows, actor=args.actor))
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for e in report.errors:
            print(f"{e.row}: {e.reason}")
        summary = ", ".join(f"{kind} {c['created']} created / {c['updated']} updated / {c['unchanged']} unchanged"
                            for kind, c in sorted(report.counts.items()))
        print(f"{report.imported} of {report.rows} rows imported, {len(report.errors)} failed"
              + (f"; {summary}" if summary else ""))
    return 1 if report.errors else 0
