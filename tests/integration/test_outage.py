"""The broker goes away for a while and comes back (a restart, a failover): the service rides it out.

Tansu keeps its data in memory, so a real restart would lose the topics; the
broker here sits behind a :class:`~tests.integration.link.Link` instead, and
the test cuts the link: every connection dropped, new ones refused, then
accepted again, with the broker's data intact, as clients see a broker that
restarts with its storage.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaProducer

from streamal.tools.embedded import EmbeddedBroker, free_port
from tests.integration.conftest import BOTH_CLIENTS, MakeService, read_topic, send, wait_for
from tests.integration.link import Link
from tests.integration.test_service import answer, events

pytestmark = [
    BOTH_CLIENTS,
    # the test's own kafka-python producer leaves a socket behind for each refused reconnect
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(autouse=True)
def _collect_leaked_sockets() -> Iterator[None]:
    """Collect the sockets the test's own kafka-python clients leave behind during the cut, here.

    Collected later, their warnings would fall on whichever test this process runs next, where no
    filter excuses them. (Autouse: set up first, so torn down after the clients are closed.)
    """
    yield
    gc.collect()


class _Linked:
    """The broker as the tests see it: its address is the link's."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.bootstrap = f"127.0.0.1:{link.port}"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Linked]:
    """A broker reached only through a link the test can cut (overrides the suite's broker in this module)."""
    port = free_port()
    with EmbeddedBroker(advertised=f"127.0.0.1:{port}",
                        log_path=tmp_path_factory.mktemp("broker") / "tansu.log") as backend, \
            Link(port, backend.port) as link:
        yield _Linked(link)


def test_a_broker_outage_mid_stream_loses_nothing_and_the_service_carries_on(
        make_service: MakeService, producer: KafkaProducer, broker: _Linked
) -> None:
    svc = make_service(budget="0.1", seed_size="10").start()
    t = svc.topics
    stream = events(0, 3000)

    def feed() -> None:  # about 500 events/s: the stream flows before the cut, waits through it, goes on after
        for i in range(0, len(stream), 50):
            send(producer, t["events"], stream[i:i + 50], key=lambda e: e["id"].encode())
            time.sleep(0.1)

    source = threading.Thread(target=feed)
    source.start()
    svc.wait_metric('streamal_events_total{outcome="scored"}', 300)
    connections = broker.link.connections
    broker.link.cut(8.0)
    assert source.is_alive()  # the cut came mid-stream
    assert svc.alive, f"the service died in the outage:\n{svc.log.read_text()[-3000:]}"
    source.join(60)

    by_id = {e["id"]: e for e in stream}
    predictions = read_topic(broker.bootstrap, t["predictions"], expect=len(by_id), unique="event_id", timeout=90)
    assert {p["event_id"] for p in predictions} == set(by_id)  # every event scored; duplicates allowed

    # labels still flow both ways: answers to review items after the outage are learned
    learned = svc.metric("streamal_model_version")
    review = read_topic(broker.bootstrap, t["review"])
    answer(producer, t["labels"], review, by_id)
    wait_for(lambda: svc.metric("streamal_model_version") > learned, 30, "labels learned after the outage")
    assert svc.alive
    assert broker.link.connections > connections  # the service came back through the link
    assert svc.stop() == 0
