"""A TLS terminator in front of the test broker (Tansu 0.6.0 cannot serve TLS itself).

Clients speak TLS to the terminator, which forwards the plain bytes to the
broker; the broker advertises the terminator's address, so every connection a
Kafka client makes after bootstrap goes through TLS too. The certificates come
from a CA made in the test (``trustme``); with ``client_ca`` the terminator
also asks for a client certificate signed by it (mutual TLS).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading

import trustme


class TlsTerminator:
    """Listen with TLS on ``port``, forward each connection to ``127.0.0.1:backend_port``."""

    def __init__(self, port: int, backend_port: int, server_ca: trustme.CA,
                 client_ca: trustme.CA | None = None) -> None:
        self.port = port
        self.backend_port = backend_port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ca.issue_cert("localhost", "127.0.0.1").configure_cert(self.context)
        if client_ca is not None:
            client_ca.configure_trust(self.context)
            self.context.verify_mode = ssl.CERT_REQUIRED
        self.handshake_failures = 0
        self.connections = 0  # connections that completed the TLS handshake
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="tls-terminator")
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def __enter__(self) -> TlsTerminator:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS terminator did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.context,
                                 ssl_handshake_timeout=5))
        self._loop.set_exception_handler(self._on_error)
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def _on_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
            self.handshake_failures += 1  # a client that does not trust us, or does not speak TLS
            return
        loop.default_exception_handler(context)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_w)
        try:
            try:
                broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.backend_port)
            except OSError:
                client_w.close()
                return
            self._writers.add(broker_w)
            await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
        finally:
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
