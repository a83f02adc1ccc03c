"""Client side of the test IMAP server (see conftest.py): users, delivery by APPEND, folder listings."""

from __future__ import annotations

import imaplib
from dataclasses import dataclass, field
from pathlib import Path

from shared.ids import new_id


@dataclass
class MailServer:
    root: Path
    port: int
    tls_port: int
    ca_file: str
    users: dict[str, str] = field(default_factory=dict)

    def add_user(self) -> tuple[str, str]:
        user, password = f"support-{new_id()[:8]}@frontline.test", new_id()
        self.users[user] = password
        (self.root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        return user, password

    def connect(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(user, self.users[user])
        return conn

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        conn = self.connect(user)
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def folder(self, user: str, folder: str = "INBOX", criteria: str = "ALL") -> list[bytes]:
        conn = self.connect(user)
        try:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            _, data = conn.search(None, criteria)
            return (data[0] or b"").split()
        finally:
            conn.logout()
