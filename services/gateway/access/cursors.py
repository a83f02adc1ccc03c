"""Keyset cursors for ticket lists: signed by the gateway, bound to the caller, one strict shape.

The cursor's value goes into a MongoDB filter, so it must be one this gateway issued (HMAC-SHA256) and must
hold exactly a sort value of the sort field's type: never an operator document, never a number MongoDB cannot
store. It is bound to the caller's role and user, so a page handed to one principal is not replayable by another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.runtime.clock import as_utc
from shared.runtime.secrets import require_secret

from ..queries.queues import CursorError, SortField
from ..settings import GatewaySettings

MAX_CURSOR_CHARS = 1000
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
MAX_NUMBER = 2**53  # ticket numbers are counters; far below MongoDB's int64
NUMBER_SORTS = frozenset({SortField.number})


class CursorBody(BaseModel):
    """What a cursor holds: the sort order, the last item's sort value and id, and whom it was issued to."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    f: SortField
    d: Literal[-1, 1]
    at: AwareDatetime | None = None  # the value of a time sort
    n: int | None = Field(None, ge=0, le=MAX_NUMBER)  # the value of a number sort
    id: str = Field(min_length=1, max_length=200)
    o: str = Field(min_length=1, max_length=300)

    @field_validator("at", mode="before")
    @classmethod
    def _iso_only(cls, v: Any) -> Any:
        # pydantic would also read a number (or a numeric string) as a Unix time; a cursor holds what we wrote
        if not isinstance(v, str) or not ISO.match(v):
            raise ValueError("an ISO 8601 time with its offset")
        return datetime.fromisoformat(v)

    @model_validator(mode="after")
    def _value_fits_the_field(self) -> Self:
        # every sortable field is set on the tickets its queues return (queues.NULLABLE_SORTS), so never null
        number = self.f in NUMBER_SORTS
        if (self.n is None) == number or (self.at is None) != number:
            raise ValueError(f"a cursor for {self.f.value} holds one value of that field's type")
        return self

    @property
    def value(self) -> Any:
        return self.n if self.f in NUMBER_SORTS else self.at


def cursor_key(settings: GatewaySettings) -> bytes:
    """``GATEWAY_CURSOR_SECRET``: required in production (:func:`shared.runtime.secrets.require_secret` refuses to start
    without it); in development, when unset, derived from the JWT key."""
    key = require_secret(settings, "GATEWAY_CURSOR_SECRET", settings.cursor_secret, None)
    if key is not None:
        return key.encode()
    return hmac.new(settings.jwt_secret.encode(), b"frontline list cursors", hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, raw: bytes) -> bytes:
        return hmac.new(self._key, raw, hashlib.sha256).digest()

    def encode(self, doc: dict[str, Any], field: SortField, direction: int, owner: str) -> str:
        value = doc.get(field.value)
        body = CursorBody.model_construct(
            f=field, d=1 if direction > 0 else -1, id=doc["_id"], o=owner,
            at=as_utc(value) if isinstance(value, datetime) else None,
            n=value if field in NUMBER_SORTS else None)
        raw = body.model_dump_json(exclude_none=True).encode()
        return f"{_b64(raw)}.{_b64(self._sign(raw))}"

    def decode(self, cursor: str, field: SortField, direction: int, owner: str) -> tuple[Any, str]:
        """The last item's sort value and id; :class:`CursorError` unless signed, well-formed and ours."""
        try:
            if len(cursor) > MAX_CURSOR_CHARS:
                raise ValueError("too long")
            body64, sig64 = cursor.split(".")
            raw, sig = _unb64(body64), _unb64(sig64)
        except (ValueError, binascii.Error):
            raise CursorError("the cursor is not one this API issued") from None
        if not hmac.compare_digest(sig, self._sign(raw)):
            raise CursorError("the cursor is not one this API issued (bad signature)")
        try:
            body = CursorBody.model_validate_json(raw)
        except ValidationError:
            raise CursorError("the cursor is not one this API issued (bad shape)") from None
        if not hmac.compare_digest(body.o.encode(), owner.encode()):
            raise CursorError("the cursor was issued to someone else; start again without it")
        if body.f != field or body.d != direction:
            raise CursorError("the cursor belongs to a different sort order; start again without it")
        return body.value, body.id
