"""End-to-end fixtures: the real outside servers the services talk to, started by the test.

- ``mailserver``: dovecot (IMAP), the mailbox intake polls; skips with the reason where dovecot is absent.
- ``smtp``: an aiosmtpd server notify submits mail to; the test reads what it received.
- ``providers``: our local stand-in for Twilio's Messages API and a chat platform's conversation webhook.

The server classes live with the integration tests that introduced them
(tests/integration/intake/intake_mailserver.py, tests/integration/notify/notify_servers.py); their
directories go on ``sys.path`` here, as pytest's rootdir-relative import does for the tests next to them.
The services themselves are started per test by ``e2e_support.desk`` (``tools.stack.Stack``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

for _sub in ("intake", "notify"):
    _path = str(Path(__file__).resolve().parents[1] / "integration" / _sub)
    if _path not in sys.path:
        sys.path.insert(0, _path)

from intake_mailserver import MailServer, dovecot_server  # noqa: E402
from notify_servers import providers, smtp  # noqa: E402, F401  (fixtures)


@pytest.fixture(scope="session")
def mailserver() -> Iterator[MailServer]:
    with dovecot_server() as server:
        yield server
