"""Crashes lose nothing: a kill at every step of handling an event, and the crash test as operators run it.

At least once: a crash repeats some predictions and loses none. The first
test kills the service at each named step (``STREAMAL_CRASH_AT``, see
:mod:`streamal.crashes`) and restarts it; the second kills it with SIGKILL
at random moments while a source keeps sending (once while a checkpoint is
being written: its temporary file on disk), stops it with SIGTERM under
load, and starts it again each time. At the end every event of the stream has
a prediction, and every label the analyst gave was learned exactly once by
the model that survives.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kafka import KafkaProducer

from streamal.tools.embedded import EmbeddedBroker
from tests.integration.conftest import BOTH_CLIENTS, MakeService, ServiceProcess, read_topic, send, wait_for, wait_until
from tests.integration.test_replicas import Analyst, Source
from tests.integration.test_service import events

pytestmark = BOTH_CLIENTS

KILLS = 10


def checkpoint_in_progress(state_dir: Path) -> bool:
    try:
        with os.scandir(state_dir) as entries:
            return any(e.name.startswith(".checkpoint-") and e.name.endswith(".tmp") for e in entries)
    except FileNotFoundError:
        return False


def kill_during_checkpoint(svc: ServiceProcess, timeout: float = 30.0) -> bool:
    """SIGKILL the moment a checkpoint's temporary file appears; whether one was caught."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if checkpoint_in_progress(svc.state_dir):
            svc.kill()
            return True
        time.sleep(0.0005)
    return False


def crash(svc: ServiceProcess, step: str, timeout: float = 90.0) -> None:
    """Run ``svc`` with ``STREAMAL_CRASH_AT=step`` until it kills itself there."""
    svc.env["STREAMAL_CRASH_AT"] = step
    with svc.log.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamal", "run"], env=svc.env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"never reached {step}:\n{svc.log.read_text()[-3000:]}") from None
    assert code == -signal.SIGKILL, f"exited with {code} before {step}:\n{svc.log.read_text()[-3000:]}"
    assert f"crash point {step.split(':')[0]} reached" in svc.log.read_text()


def test_a_kill_at_every_step_of_handling_an_event_loses_nothing(make_service: MakeService, producer: KafkaProducer,
                                                                 broker: EmbeddedBroker) -> None:
    svc = make_service(topic_partitions="3", budget="0.1", seed_size="10", session_timeout_ms="2000",
                       checkpoint_interval="0.5")
    assert svc.start().stop() == 0  # its topics created with three partitions
    stream = events(0, 3000)
    sent = 0
    for step in ("handled:150", "sent:150", "flushed:1", "committed:1", "saving:3"):
        send(producer, svc.topics["events"], stream[sent:sent + 500], key=lambda e: e["id"].encode())
        sent += 500
        crash(svc.again(), step)
    send(producer, svc.topics["events"], stream[sent:], key=lambda e: e["id"].encode())
    last = svc.again().start()
    predictions = read_topic(broker.bootstrap, svc.topics["predictions"], expect=len(stream), timeout=90,
                             unique="event_id")
    missing = {e["id"] for e in stream} - {p["event_id"] for p in predictions}
    assert not missing, f"{len(missing)} events never predicted, e.g. {sorted(missing)[:5]}"
    assert last.stop() == 0


def test_kills_at_random_a_kill_mid_checkpoint_and_a_stop_under_load_lose_nothing(make_service: MakeService,
                                                                                  broker: EmbeddedBroker) -> None:
    rng = random.Random(int(os.environ.get("STREAMAL_CRASH_SEED", "26")))
    settings = {"topic_partitions": "3", "budget": "0.1", "seed_size": "10", "session_timeout_ms": "3000",
                "checkpoint_interval": "1"}
    svc = make_service(**settings).start()
    t = svc.topics
    source = Source(broker.bootstrap, t["events"], 100_000, rate=100)  # sends until told it is enough
    source.start()
    analyst = Analyst(broker.bootstrap, t["review"], t["labels"], source)
    analyst.start()

    mid_checkpoint = rng.randrange(KILLS)
    caught = False
    for k in range(KILLS):
        if k == mid_checkpoint:
            caught = kill_during_checkpoint(svc)
        if not caught or k != mid_checkpoint:
            time.sleep(rng.uniform(0.0, 3.0))
            svc.kill()
        svc = svc.again().start()
    assert caught, "no checkpoint was caught being written"
    assert source.is_alive()
    time.sleep(rng.uniform(0.5, 2.0))
    assert svc.stop() == 0  # SIGTERM while events still arrive
    svc = svc.again().start()
    time.sleep(1.0)
    source.enough.set()
    source.join(60)
    n = len(source.features)
    assert n > 1000

    predictions = read_topic(broker.bootstrap, t["predictions"], expect=n, timeout=120, unique="event_id")
    ids = [p["event_id"] for p in predictions]
    missing = set(source.features) - set(ids)
    assert not missing, f"{len(missing)} events never predicted, e.g. {sorted(missing)[:5]}"

    queried = {r["event_id"] for r in read_topic(broker.bootstrap, t["review"])}
    wait_for(lambda: queried <= analyst.answered, 60, "the analyst answers every review item")
    analyst.stop.set()
    analyst.join(10)
    answered = len(analyst.answered)
    wait_until(lambda: svc.metric("streamal_model_version") >= answered, 60)
    assert svc.metric("streamal_model_version") == answered, "a label was learned twice or not at all"
    print(f"\ncrash test: {KILLS} kills (one mid-checkpoint), a stop under load; events {n}, lost 0, "
          f"duplicate predictions {len(ids) - len(set(ids))}; labels answered and learned {answered}")
    assert svc.stop() == 0
