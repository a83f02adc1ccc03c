"""A real IMAP server for the e-mail channel (dovecot as a local process): see tests/support/imap_server.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.imap_server import MailServer, dovecot_server


@pytest.fixture(scope="session")
def mailserver() -> Iterator[MailServer]:
    with dovecot_server() as server:
        yield server
