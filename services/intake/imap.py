"""IMAP mailbox poller: unseen mail → the intake pipeline → marked seen (or moved) once the command is out.

stdlib ``imaplib`` runs in a worker thread (``asyncio.to_thread``). Mail is fetched with
``BODY.PEEK[]`` so nothing is marked seen before its ``ReceiveMessage`` was published; a
crash in between means the mail is fetched again and deduplicated by its Message-ID.
"""

from __future__ import annotations

import asyncio
import imaplib
import logging
import ssl
from dataclasses import dataclass

from shared.contracts.schemas.common import MAX_TEXT, Attachment
from shared.runtime.ids import derived_id
from shared.runtime.tasks import cancel

from .handlers import InvalidInbound, Pipeline
from .mailparse import parse_mail
from .settings import IntakeSettings, Mailbox
from .store import IntakeStore

log = logging.getLogger(__name__)
BATCH = 50


@dataclass
class Fetched:
    uid: str
    raw: bytes


class MailPoller:
    def __init__(self, box: Mailbox, pipeline: Pipeline, store: IntakeStore, settings: IntakeSettings) -> None:
        self.box, self.pipeline, self.store, self.settings = box, pipeline, store, settings
        self._task: asyncio.Task[None] | None = None
        self.polls = 0
        self.last_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"imap-{self.box.name}")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll_once()
                self.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server down, bad login: keep polling, say why
                self.last_error = repr(exc)
                log.warning("mailbox poll failed", extra={"mailbox": self.box.name, "error": repr(exc)})
            self.polls += 1
            await asyncio.sleep(self.settings.imap_poll_seconds)

    async def poll_once(self) -> int:
        """One round: returns how many mails were taken (processed, ignored or dead-lettered)."""
        conn = await asyncio.to_thread(self._connect)
        try:
            fetched = await asyncio.to_thread(self._fetch_unseen, conn)
            done: list[str] = []
            for mail in fetched:
                if await self._take(mail):
                    done.append(mail.uid)
            if done:
                await asyncio.to_thread(self._finish, conn, done)
            return len(done)
        finally:
            await asyncio.to_thread(self._logout, conn)

    async def _take(self, mail: Fetched) -> bool:
        """True when the mail is dealt with for good (its command published, or it can never be)."""
        try:
            parsed = parse_mail(mail.raw, domain=self.settings.mail_domain, mailbox=self.box.name)
        except Exception as exc:
            await self._dead_letter(mail, f"unparseable mail: {exc}")
            return True
        msg = parsed.message
        if parsed.attachments:
            stored: list[Attachment] = []
            notes: list[str] = []
            limit = self.settings.max_attachment_bytes
            for i, part in enumerate(parsed.attachments):
                if len(part.data) > limit:
                    notes.append(f"[attachment {part.filename} ({len(part.data)} bytes) not stored: "
                                 f"attachments are limited to {limit} bytes]")
                    continue
                file_id = derived_id("mail-attachment", msg.external_id, i)
                stored.append(await self.store.save_attachment(file_id, part.filename, part.content_type, part.data))
            text = "\n".join([msg.text, *notes]).strip() if notes else msg.text
            msg = msg.model_copy(update={"attachments": stored, "text": text[:MAX_TEXT]})
        try:
            await self.pipeline.handle(msg)
        except InvalidInbound as exc:
            await self._dead_letter(mail, str(exc))
        return True

    async def _dead_letter(self, mail: Fetched, reason: str) -> None:
        from shared.contracts.topics import INBOUND_MESSAGES

        bus = self.pipeline.bus
        await bus.publish_raw(bus.topic(INBOUND_MESSAGES.dead_letter), f"email:{self.box.name}".encode(),
                              mail.raw[: self.settings.max_message_bytes],
                              [("x-dlq-reason", reason[:4000].encode()),
                               ("x-dlq-source", f"imap:{self.box.name}".encode())])

    # ---- blocking IMAP calls (worker thread) ---------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        box, timeout = self.box, self.settings.imap_timeout_seconds
        conn: imaplib.IMAP4
        if box.security == "tls":
            conn = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=self._tls(), timeout=timeout)
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
            if box.security == "starttls":
                conn.starttls(self._tls())
        conn.login(box.username, box.password)
        typ, data = conn.select(_quote(box.folder))
        if typ != "OK":
            raise RuntimeError(f"cannot open folder {box.folder!r}: {data!r}")
        return conn

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.box.ca_file)
        if not self.box.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def _fetch_unseen(self, conn: imaplib.IMAP4) -> list[Fetched]:
        typ, data = conn.uid("SEARCH", "UNSEEN")
        if typ != "OK":
            raise RuntimeError(f"search failed: {data!r}")
        uids = [u.decode() for u in (data[0] or b"").split()[:BATCH]]
        out: list[Fetched] = []
        for uid in uids:
            typ, parts = conn.uid("FETCH", uid, "(UID BODY.PEEK[])")
            if typ != "OK":
                continue
            for part in parts:
                if isinstance(part, tuple) and len(part) == 2:
                    out.append(Fetched(uid=uid, raw=bytes(part[1])))
                    break
        return out

    def _finish(self, conn: imaplib.IMAP4, uids: list[str]) -> None:
        uid_set = ",".join(uids)
        target = self.box.move_to
        if not target:
            conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)")
            return
        conn.create(_quote(target))  # NO when it exists already: fine
        if "MOVE" in conn.capabilities:
            typ, data = conn.uid("MOVE", uid_set, _quote(target))
            if typ == "OK":
                return
        conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)")
        typ, _ = conn.uid("COPY", uid_set, _quote(target))
        if typ == "OK":
            conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()

    @staticmethod
    def _logout(conn: imaplib.IMAP4) -> None:
        try:
            conn.logout()
        except Exception:  # already gone: nothing to release
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
