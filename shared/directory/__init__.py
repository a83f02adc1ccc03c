"""Admin-editable directories (lines, agents, contacts, SLA policies, templates…).

Each owning service declares its directory models in a module of this package and
registers them here; the gateway serves every registered directory through one
validated, versioned and audited admin API, and services read them with
:class:`DirectoryStore`. Importing this package imports every module in it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

M = TypeVar("M", bound=BaseModel)

AUDIT = "dir_audit"


@dataclass(frozen=True)
class Directory(Generic[M]):
    name: str  # URL segment: /api/v1/admin/directories/{name}
    model: type[M]
    collection: str
    owner: str  # the service that reads it for its decisions
    description: str = ""
    key: str = "id"  # model field used as the document _id


DIRECTORIES: dict[str, Directory[Any]] = {}


def register(name: str, model: type[M], collection: str, owner: str, description: str = "",
             key: str = "id") -> Directory[M]:
    if name in DIRECTORIES and DIRECTORIES[name].model is not model:
        raise RuntimeError(f"directory {name} registered twice")
    d = Directory(name, model, collection, owner, description, key)
    DIRECTORIES[name] = d
    return d


class VersionConflict(Exception):
    pass


class DirectoryStore(Generic[M]):
    """Versioned entries with an audit trail: who changed what, when, from which version."""

    def __init__(self, db: AsyncDatabase, directory: Directory[M]) -> None:
        self.db, self.d = db, directory
        self.col = db[directory.collection]

    async def ensure_indexes(self) -> None:
        await self.db[AUDIT].create_indexes([IndexModel([("directory", ASCENDING), ("key", ASCENDING)])])

    async def get(self, key: str) -> M | None:
        doc = await self.col.find_one({"_id": key})
        return self._model(doc) if doc else None

    async def list(self, query: dict[str, Any] | None = None, limit: int = 1000) -> list[M]:
        return [self._model(d) async for d in self.col.find(query or {}).limit(limit)]

    async def put(self, item: M, *, actor: str, at: datetime, expected_version: int | None = None) -> int:
        """Create or replace; ``expected_version`` makes it a compare-and-set (409 on mismatch)."""
        key = str(getattr(item, self.d.key))
        data = item.model_dump(mode="json")
        current = await self.col.find_one({"_id": key}, {"_version": 1})
        version = (current or {}).get("_version", 0)
        if expected_version is not None and expected_version != version:
            raise VersionConflict(f"{self.d.name}/{key} is at version {version}, not {expected_version}")
        doc = {**data, "_id": key, "_version": version + 1, "_updated_at": at, "_updated_by": actor}
        if current is None:
            try:
                await self.col.insert_one(doc)
            except DuplicateKeyError as exc:
                raise VersionConflict(f"{self.d.name}/{key} was created concurrently") from exc
        else:
            res = await self.col.find_one_and_replace({"_id": key, "_version": version}, doc,
                                                      return_document=ReturnDocument.AFTER)
            if res is None:
                raise VersionConflict(f"{self.d.name}/{key} changed concurrently")
        await self.db[AUDIT].insert_one({"directory": self.d.name, "key": key, "version": version + 1,
                                         "action": "put", "actor": actor, "at": at, "data": data})
        return int(version + 1)

    async def delete(self, key: str, *, actor: str, at: datetime) -> bool:
        res = await self.col.delete_one({"_id": key})
        if res.deleted_count:
            await self.db[AUDIT].insert_one({"directory": self.d.name, "key": key, "action": "delete",
                                             "actor": actor, "at": at})
        return bool(res.deleted_count)

    def _model(self, doc: dict[str, Any]) -> M:
        data = {k: v for k, v in doc.items() if not k.startswith("_")}
        data.setdefault(self.d.key, doc["_id"])
        return self.d.model.model_validate(data)


def load_all() -> dict[str, Directory[Any]]:
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return DIRECTORIES
