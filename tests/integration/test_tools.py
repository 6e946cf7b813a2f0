"""The tools around the service: replay, the oracle and the demo, against a real broker."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import orjson

from streamal.evaluation.streams import open_stream
from streamal.tools.demo import run_demo
from streamal.tools.embedded import EmbeddedBroker
from streamal.tools.oracle import Oracle, TruthFile
from streamal.tools.replay import TruthWriter, replay
from tests.integration.conftest import read_topic, send, wait_until


def test_replay_publishes_events_and_writes_the_truth(broker: EmbeddedBroker, tmp_path: Path) -> None:
    topic = f"replay-{uuid.uuid4().hex[:8]}"
    truth = TruthWriter(tmp_path / "truth.jsonl")
    try:
        sent = replay(open_stream("sea-abrupt", n=300), broker.bootstrap, topic, total=300, truth=truth,
                      id_prefix="s", progress=False)
    finally:
        truth.close()
    assert sent == 300
    events = read_topic(broker.bootstrap, topic, expect=300)
    assert [e["id"] for e in events] == [f"s-{i}" for i in range(300)]
    assert all(set(e["features"]) == {"0", "1", "2"} and "label" not in e and e["ts"].endswith("Z") for e in events)
    lines = [orjson.loads(line) for line in (tmp_path / "truth.jsonl").read_bytes().splitlines()]
    assert len(lines) == 300 and {x["event_id"] for x in lines} == {e["id"] for e in events}

    labelled = f"{topic}-labelled"
    replay(open_stream("sea-abrupt", n=20), broker.bootstrap, labelled, with_labels=True, progress=False)
    assert all("label" in e for e in read_topic(broker.bootstrap, labelled, expect=20))


def test_the_oracle_answers_after_its_delay_and_a_restart_answers_what_was_still_waiting(broker: EmbeddedBroker,
                                                                                         tmp_path: Path) -> None:
    review, labels = f"rv-{uuid.uuid4().hex[:8]}", f"lb-{uuid.uuid4().hex[:8]}"
    truth_path = tmp_path / "truth.jsonl"
    truth_path.write_bytes(b"".join(orjson.dumps({"event_id": f"e{i}", "label": "bad" if i % 2 else "ok"}) + b"\n"
                                    for i in range(6)))
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    send(producer, review, [{"event_id": f"e{i}", "prediction": "ok"} for i in range(6)])
    producer.close()
    group = f"oracle-{uuid.uuid4().hex[:8]}"

    def run(delay: float, seconds: float) -> Oracle:
        oracle = Oracle(TruthFile(truth_path), broker.bootstrap, review_topic=review, labels_topic=labels,
                        delay=delay, group_id=group)
        stop = threading.Event()
        thread = threading.Thread(target=oracle.run, args=(stop,))
        thread.start()
        wait_until(lambda: oracle.answered >= 6, seconds)
        stop.set()
        thread.join(30)
        return oracle

    first = run(delay=600.0, seconds=8)  # reads everything, answers nothing yet, then stops
    assert first.answered == 0
    second = run(delay=0.0, seconds=30)  # the same group: the unanswered items are read again
    assert second.answered == 6
    answers = read_topic(broker.bootstrap, labels, expect=6)
    assert {(a["event_id"], a["label"]) for a in answers} == {(f"e{i}", "bad" if i % 2 else "ok") for i in range(6)}
    assert all(a["annotator"] == "oracle" for a in answers)


def test_the_demo_runs_the_whole_loop_and_reports_it(tmp_path: Path) -> None:
    result = run_demo(events=1500, stream="sea-abrupt", budget=0.1, model="linear", rate=300, delay=0.5,
                      state_dir=str(tmp_path / "state"), progress=False)
    assert result.exit_code == 0 and result.events == 1500 and result.invalid == 0
    queries = sum(result.queries.values())
    assert 50 <= queries <= 0.1 * 1500 + 30
    assert result.labels.get("learned", 0) >= queries - 10
    summary = result.summary()
    assert "events scored" in summary and "service exit code 0" in summary
