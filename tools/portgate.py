"""A TCP forwarder in front of the embedded broker, which fault tests close while they restart the broker."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class PortGate:
    """A TCP forwarder from the broker's public port to its own, which fault tests close while they restart it.

    Tansu creates any topic a client asks about (with 4 partitions). After a restart of the memory-only
    broker its clients would do so at once, and partition counts that differ from ``shared/contracts/topics.py`` move
    keys to other partitions (and the timers stored per partition to nobody). With the gate closed, clients
    find the port shut, as with production Kafka while Strimzi recreates the topics; the test recreates them
    on the broker's own port first, then opens the gate.
    """

    def __init__(self, host: str, port: int, target: int) -> None:
        self.host, self.port, self.target = host, port, target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="broker-gate", daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> PortGate:
        self._thread.start()
        self.open()
        return self

    def _call(self, coro: Any) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def open(self) -> None:
        self._call(self._open())

    def close(self) -> None:
        """Stop listening and cut every connection through the gate."""
        self._call(self._close())

    def stop(self) -> None:
        if self._thread.is_alive():
            self.close()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, self.host, self.port, reuse_address=True)

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
