"""Property-based: whatever arrives is refused with our own error or handled, never anything else."""

from __future__ import annotations

import math
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamal.core.config import LearnerConfig
from streamal.core.learner import Learner
from streamal.core.names import ModelName
from streamal.errors import InvalidMessage
from streamal.wire.labels import parse_label
from streamal.wire.messages import parse_event

json_leaf = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
             | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
feature_value = (st.none() | st.booleans() | st.integers(min_value=-(10**18), max_value=10**18)
                 | st.floats(allow_nan=False, allow_infinity=False, width=64)
                 | st.sampled_from([1e99, -1e99, 1e-300, 5e-324, 0.0, -0.0]) | st.text(max_size=20))
features = st.dictionaries(st.text(min_size=1, max_size=10), feature_value, min_size=0, max_size=8)


def as_bytes(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)


@given(st.binary(max_size=300) | json_value.map(as_bytes)
       | st.fixed_dictionaries({"id": json_value, "features": json_value}, optional={"label": json_value,
                               "meta": json_value, "ts": json_value}).map(as_bytes))
@settings(max_examples=400, deadline=None)
def test_any_bytes_are_an_event_or_an_invalid_event(raw: bytes) -> None:
    try:
        event = parse_event(raw, max_output_bytes=100_000)
    except InvalidMessage as exc:
        assert str(exc) and exc.reason
    else:
        assert isinstance(event.id, str) and isinstance(event.features, dict)


@given(st.binary(max_size=300) | st.fixed_dictionaries(
    {"event_id": json_value, "label": json_value}, optional={"features": json_value, "annotator": json_value,
                                                              "labeled_at": json_value}).map(as_bytes))
@settings(max_examples=400, deadline=None)
def test_any_bytes_are_a_label_or_an_invalid_label(raw: bytes) -> None:
    try:
        label = parse_label(raw)
    except InvalidMessage as exc:
        assert str(exc)
    else:
        assert isinstance(label.event_id, str) and isinstance(label.label, str)


@given(st.sampled_from(["linear", "hat", "arf"]),
       st.lists(st.tuples(features, st.sampled_from(["a", "b", "c"])), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_whatever_parses_is_scored_and_learned_without_an_exception(model: ModelName, stream: list[Any]) -> None:
    learner = Learner(LearnerConfig(model=model, budget=1.0, seed_size=2))
    for i, (x, y) in enumerate(stream):
        raw = orjson.dumps({"id": f"e{i}", "features": x})
        try:
            event = parse_event(raw)
        except InvalidMessage:
            continue
        decision = learner.score(event, now=float(i))
        assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in decision.proba.values())
        label = parse_label(orjson.dumps({"event_id": event.id, "label": y}))
        result = learner.learn(label, now=float(i))
        assert result.outcome in {"learned", "invalid", "unknown"}
    probe = learner.predict_proba({"z": 1.0})
    assert all(math.isfinite(p) for p in probe.values())
