"""Starting the service: a start that fails leaves nothing open and the state directory free."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from streamal.config import load_settings
from streamal.errors import BrokerError
from streamal.review.store import ReviewStore
from streamal.service.checkpoint import CheckpointStore
from streamal.service.health import Health
from streamal.service.metrics import Metrics
from streamal.service.start import Service


# kafka-python's admin client leaves its bootstrap sockets to the garbage collector when no broker answers
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_start_that_cannot_reach_kafka_unlocks_the_state_and_says_not_ready(tmp_path: Path) -> None:
    settings = load_settings({"kafka_bootstrap": "127.0.0.1:1", "kafka_connect_timeout": 1.0, "state_dir": tmp_path})
    health = Health()
    service = Service(settings, Metrics(CollectorRegistry()), health, ReviewStore())
    with pytest.raises(BrokerError):
        service.start()
    assert not health.ready
    other = CheckpointStore(tmp_path)
    other.lock()  # would raise if the failed start still held the directory
    other.unlock()
    gc.collect()  # the client's sockets go here, under this test's filters, not in a later test


def test_a_restart_after_a_promotion_says_which_settings_to_change(tmp_path: Path) -> None:
    from streamal.core.config import LearnerConfig
    from streamal.core.learner import Learner
    from streamal.errors import IncompatibleState

    promoted = Learner(LearnerConfig(model="hat", challenger="linear"))
    CheckpointStore(tmp_path).save({"learner": promoted.config.to_dict()}, {"learner": promoted})
    settings = load_settings({"kafka_bootstrap": "127.0.0.1:1", "state_dir": tmp_path, "model": "linear",
                              "challenger_model": "hat"})
    with pytest.raises(IncompatibleState, match=r"the model was promoted.*STREAMAL_MODEL=hat and "
                                                r"STREAMAL_CHALLENGER_MODEL=linear"):
        Service(settings, Metrics(CollectorRegistry()), Health(), ReviewStore()).start()
