"""``python -m tools.mailcatcher --smtp-port P --http-port Q --dir var/mail``: SMTP and the page, loopback only."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session

from shared.runtime.mailstore import MailStore

from . import DEFAULT_DIR
from .web import web_app

HOST = "127.0.0.1"  # never an option: what it keeps is only for this machine's user
MAX_BYTES = 10 * 1024 * 1024
log = logging.getLogger("mailcatcher")


class Keep:
    """aiosmtpd handler: every message accepted is kept."""

    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        kept = await asyncio.to_thread(self.store.add_email, raw, str(envelope.mail_from or ""),
                                       [str(r) for r in envelope.rcpt_tos])
        log.info("kept %s for %s", kept.id, ", ".join(kept.to))
        return "250 Message kept"


async def serve(directory: Path, smtp_port: int, http_port: int) -> None:
    store = MailStore(directory)
    loop = asyncio.get_running_loop()
    # hostname given: aiosmtpd would otherwise ask the resolver for this machine's FQDN
    smtp = await loop.create_server(lambda: SMTP(Keep(store), hostname="localhost", data_size_limit=MAX_BYTES),
                                    HOST, smtp_port)
    log.info("SMTP on %s:%s, page on http://%s:%s, messages in %s", HOST, smtp_port, HOST, http_port, directory)
    try:
        config = uvicorn.Config(web_app(store), host=HOST, port=http_port, log_config=None, access_log=False)
        await uvicorn.Server(config).serve()
    finally:
        smtp.close()
        await smtp.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.mailcatcher", description=__doc__)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=1080)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where messages are kept (default var/mail)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args.dir, args.smtp_port, args.http_port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
