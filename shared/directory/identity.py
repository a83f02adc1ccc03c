"""What identifies a contact: the e-mail key and the E.164 phone (no I/O).

The writer of the contacts directory (the importer, from the CLI or the gateway) and its reader (intake, finding
the contact a message comes from) must key addresses and phones alike, so the one definition lives here. An
e-mail address identifies by its key: the domain as DNS resolves it (IDNA, UTS #46) and the local part with ASCII
letters lower-cased and every other character kept as sent (folding would make different mailboxes equal).
"""

from __future__ import annotations

import re

import idna
import phonenumbers

_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_key(value: str | None) -> str | None:
    """The address as the mail system delivers to it; None when it is not an address at all."""
    if not value:
        return None
    local, at, domain = value.strip().strip("<>").rpartition("@")
    if not at or not local:
        return None
    try:
        domain = domain.lower() if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None
    key = "".join(c.lower() if c.isascii() else c for c in local) + "@" + domain
    return key if _ADDRESS.match(key) and ".." not in domain else None


def normalise_phone(value: str | None, region: str = "RU") -> str | None:
    """E.164, or None when the number cannot be a phone number."""
    if not value or not value.strip():
        return None
    try:
        parsed = phonenumbers.parse(value.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
