"""A TCP link in front of the test broker: a forwarder that can be cut, and the base of the TLS terminator.

The broker advertises the link's address, so every connection a Kafka client
makes goes through it. :meth:`Link.cut` closes every open connection and
refuses new ones for a while, then listens again: to the clients that is a
broker restart (or a failover to a broker at the same address) with nothing
lost on the broker's side, which Tansu's in-memory storage could not give
after a real restart. With an ``ssl`` context the link speaks TLS to its
clients and plain Kafka to the broker (:class:`~tests.integration.tls.TlsTerminator`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
import threading
import time


class Link:
    """Forward each connection to ``127.0.0.1:port`` to ``127.0.0.1:backend_port``; :meth:`cut` it for a while."""

    def __init__(self, port: int, backend_port: int, ssl: _ssl.SSLContext | None = None) -> None:
        self.port = port
        self.backend_port = backend_port
        self.ssl = ssl
        self.connections = 0  # connections accepted (with TLS: that completed the handshake)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=type(self).__name__)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> Link:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the {type(self).__name__} did not start")
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

    def _on_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        loop.default_exception_handler(context)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._loop.set_exception_handler(self._on_error)
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self.ssl, reuse_address=True,
            ssl_handshake_timeout=5 if self.ssl else None)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        self._writers.clear()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        writers = {client_w}
        self._writers.add(client_w)
        try:
            try:
                broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.backend_port)
            except OSError:
                client_w.close()
                return
            writers.add(broker_w)
            self._writers.add(broker_w)
            await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
        finally:
            self._tasks.discard(task)
            self._writers.difference_update(writers)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:  # ssl.SSLError among them
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
