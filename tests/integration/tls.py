"""A TLS terminator in front of the test broker (Tansu 0.6.0 cannot serve TLS itself).

Clients speak TLS to the terminator, which forwards the plain bytes to the
broker; the broker advertises the terminator's address, so every connection a
Kafka client makes after bootstrap goes through TLS too. The certificates come
from a CA made in the test (``trustme``); with ``client_ca`` the terminator
also asks for a client certificate signed by it (mutual TLS).
"""

from __future__ import annotations

import asyncio
import ssl

import trustme

from tests.integration.link import Link


class TlsTerminator(Link):
    """Listen with TLS on ``port``, forward each connection to ``127.0.0.1:backend_port``."""

    def __init__(self, port: int, backend_port: int, server_ca: trustme.CA,
                 client_ca: trustme.CA | None = None) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        if client_ca is not None:
            client_ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        super().__init__(port, backend_port, ssl=context)
        self.handshake_failures = 0

    def _on_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        if isinstance(context.get("exception"), ssl.SSLError | ConnectionError):
            self.handshake_failures += 1  # a client that does not trust us, or does not speak TLS
            return
        loop.default_exception_handler(context)
