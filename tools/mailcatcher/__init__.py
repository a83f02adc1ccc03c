"""The local mail catcher: on one machine nothing notify sends leaves it.

``make up`` runs it as a process of its own (``python -m tools.mailcatcher --smtp-port P --http-port Q
--dir var/mail``): an SMTP server that keeps every message it receives under ``var/mail`` (surviving restarts),
and a page listing them (subject, sender, recipients, date, text, links) with a JSON API at ``/api/messages``.
Both listen on 127.0.0.1 only. Notify's development sinks keep SMS and chat in the same directory.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from shared.runtime.mailstore import DEFAULT_DIR, Channel, Kept, MailStore
from tools.infra import free_port

if TYPE_CHECKING:
    from tools.supervisor import Companion

__all__ = ["DEFAULT_DIR", "Catcher", "Channel", "Kept", "MailStore", "companion", "mail_dir", "spawn"]



def mail_dir(var_dir: Path) -> Path:
    return Path(var_dir) / "mail"


class Catcher(NamedTuple):
    process: subprocess.Popen[bytes]
    smtp_port: int
    http_url: str
    directory: Path

    @property
    def notify_env(self) -> dict[str, str]:
        """What notify needs to submit mail here and keep SMS and chat beside it (notify's settings' names)."""
        return {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(self.smtp_port),
                "NOTIFY_SMTP_STARTTLS": "false", "NOTIFY_SINK_DIR": str(self.directory)}

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(var_dir: Path, log: Path | None = None, timeout: float = 60) -> Catcher:
    """Start the catcher keeping mail in ``var_dir/mail``; returns once its page answers."""
    directory = mail_dir(Path(var_dir).resolve())
    smtp_port, http_port = free_port(), free_port()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "tools.mailcatcher", "--smtp-port", str(smtp_port),
                             "--http-port", str(http_port), "--dir", str(directory)],
                            stdout=out, stderr=subprocess.STDOUT)
    catcher = Catcher(proc, smtp_port, f"http://127.0.0.1:{http_port}", directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(catcher.http_url + "/api/messages?channel=none", timeout=2):  # noqa: S310
                return catcher
        except OSError:
            time.sleep(0.2)
    catcher.stop()
    raise RuntimeError(f"the mail catcher did not start (exit {proc.returncode}); see {log or 'its output'}")


def companion(var_dir: Path, env: dict[str, str]) -> Companion:
    """The catcher as a process ``frontline up`` runs beside the services, notify pointed at it."""
    from tools.supervisor import Companion

    catcher = spawn(var_dir, log=Path(var_dir) / "log" / "mailcatcher.log")
    return Companion(name="mail catcher", url=catcher.http_url, proc=catcher.process, env=catcher.notify_env,
                     note=f"what notify sent: e-mail (SMTP 127.0.0.1:{catcher.smtp_port}), SMS and chat")
