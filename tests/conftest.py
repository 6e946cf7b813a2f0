"""Shared fixtures of the unit tests."""

import threading
import time

import pytest
import uvicorn
from prometheus_client import CollectorRegistry

from streamal.http.app import create_app
from streamal.service.health import Health
from streamal.service.metrics import Metrics
from streamal.tools.embedded import free_port


@pytest.fixture
def served():
    registry = CollectorRegistry()
    Metrics(registry)
    health = Health()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(health, registry), host="127.0.0.1", port=port,
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield health, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
