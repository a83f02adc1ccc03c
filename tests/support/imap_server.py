"""A real IMAP server for the e-mail channel, and its client side: users, delivery by APPEND, folder listings.

:func:`dovecot_server` starts dovecot as a local process with a throwaway config: passwd-file auth (each
test adds its own user; dovecot re-reads the file), maildir storage in a temporary directory, plain IMAP
and IMAP over TLS (self-signed certificate) on free ports. It skips the calling test with the reason when
dovecot is not installed (scripts/system-deps.sh) or does not start. Used by the intake integration tests
(conftest.py) and the end-to-end scenarios (tests/e2e).
"""

from __future__ import annotations

import datetime as dt
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from shared.runtime.ids import new_id
from tools.infra import free_port

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


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


def _self_signed(root: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = root / "cert.pem", root / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def _config(root: Path, port: int, tls_port: int, cert: str, key: str) -> str:
    if os.getuid() == 0:  # dovecot refuses root as a mail user: the mail belongs to its own system user
        mail_user = pwd.getpwnam("dovecot")
        uid, gid, login_user, internal_user = mail_user.pw_uid, mail_user.pw_gid, "dovenull", "dovecot"
    else:
        me = pwd.getpwuid(os.getuid())
        uid, gid, login_user, internal_user = me.pw_uid, me.pw_gid, me.pw_name, me.pw_name
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, uid, gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


@contextmanager
def dovecot_server() -> Iterator[MailServer]:
    """dovecot on free ports for as long as the block runs; skips the caller when it cannot run here."""
    if DOVECOT is None:
        pytest.skip("dovecot is not installed (run scripts/system-deps.sh to install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="frontline-dovecot-"))
    root.chmod(0o755)  # the mail user must reach its maildir
    port, tls_port = free_port(), free_port()
    cert, key = _self_signed(root)
    (root / "passwd").write_text("")
    (root / "dovecot.conf").write_text(_config(root, port, tls_port, cert, key))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.skip(f"dovecot did not start: {err.strip()[:500]}")
            try:
                imaplib.IMAP4("127.0.0.1", port).logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield MailServer(root, port, tls_port, cert)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
