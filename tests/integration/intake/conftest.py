"""A real IMAP server for the e-mail channel (dovecot as a local process): see intake_mailserver.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from intake_mailserver import MailServer, dovecot_server


@pytest.fixture(scope="session")
def mailserver() -> Iterator[MailServer]:
    with dovecot_server() as server:
        yield server
