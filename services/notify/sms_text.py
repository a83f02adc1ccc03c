"""SMS text rules: E.164 numbers, GSM-7 vs UCS-2 encoding and segment counting (3GPP TS 23.038/23.040).

A single SMS carries 160 GSM-7 septets or 70 UCS-2 units; a concatenated one loses 7 septets
(3 UCS-2 units) per part to the UDH header, hence 153 / 67. GSM-7 extension characters cost
two septets and never straddle parts. Any character outside GSM-7 makes the whole text UCS-2,
where astral characters take two UTF-16 units.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsParts:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets or UTF-16 code units
    segments: int


def to_e164(raw: str | None, default_region: str = "RU") -> str | None:
    """Normalise a phone number to E.164, or None when it is not a valid number."""
    if not raw:
        return None
    try:
        num = phonenumbers.parse(raw, None if raw.strip().startswith("+") else default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def is_gsm7(text: str) -> bool:
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _gsm_costs(text: str) -> list[int]:
    return [2 if c in GSM7_EXTENSION else 1 for c in text]


def _ucs2_costs(text: str) -> list[int]:
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _pack(costs: list[int], per_part: int) -> int:
    """Parts needed when a character (an escape pair or a surrogate pair) may not be split."""
    parts, used = 1, 0
    for c in costs:
        if used + c > per_part:
            parts, used = parts + 1, 0
        used += c
    return parts


def segments(text: str) -> SmsParts:
    if is_gsm7(text):
        costs, single, multi, enc = _gsm_costs(text), 160, 153, "GSM-7"
    else:
        costs, single, multi, enc = _ucs2_costs(text), 70, 67, "UCS-2"
    units = sum(costs)
    if units <= single:
        return SmsParts(enc, units, 1 if units else 0)
    return SmsParts(enc, units, _pack(costs, multi))


def fit(text: str, max_segments: int) -> str:
    """Shorten ``text`` to at most ``max_segments`` parts, marking the cut (without leaving GSM-7)."""
    text = " ".join(text.split())
    ellipsis = "..." if is_gsm7(text) else "…"
    if segments(text).segments <= max_segments:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that still fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if segments(text[:mid].rstrip() + ellipsis).segments <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + ellipsis
