"""A TCP link in front of the test broker that can be cut: a broker restart, as its clients see it.

The broker advertises the link's address, so every connection a Kafka client
makes goes through it. :meth:`Link.cut` closes every open connection and
refuses new ones for a while, then listens again: to the clients that is a
broker restart (or a failover to a broker at the same address) with nothing
lost on the broker's side, which Tansu's in-memory storage could not give
after a real restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time


class Link:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:backend_port``; :meth:`cut` it for a while."""

    def __init__(self, port: int, backend_port: int) -> None:
        self.port = port
        self.backend_port = backend_port
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="link")
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> Link:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the link did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cut(self, seconds: float) -> None:
        """Drop every connection and refuse new ones for ``seconds``, then listen again."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        time.sleep(seconds)
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            client_w.close()
            return
        self._writers.update((client_w, broker_w))
        await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
        self._writers.difference_update((client_w, broker_w))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
