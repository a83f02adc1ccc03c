"""End-to-end fixtures: the real outside servers the services talk to, started by the test.

- ``mailserver``: dovecot (IMAP), the mailbox intake polls; skips with the reason where dovecot is absent.
- ``smtp``: an aiosmtpd server notify submits mail to; the test reads what it received.
- ``providers``: our local stand-in for Twilio's Messages API and a chat platform's conversation webhook.

The servers live in tests/support (imap_server.py, notify_servers.py), shared with the integration tests.
The services themselves are started per test by ``e2e_support.desk`` (``tests.support.stack``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.imap_server import MailServer, dovecot_server
from tests.support.notify_servers import providers, smtp  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def mailserver() -> Iterator[MailServer]:
    with dovecot_server() as server:
        yield server
