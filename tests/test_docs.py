"""The contract in docs/ names what the code has: every setting, metric, query reason and dead-letter reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from streamal.config import Settings
from streamal.core.names import REASONS
from streamal.service.key_metrics import KeyMetrics
from streamal.service.metrics import Metrics

CONTRACT = (Path(__file__).parent.parent / "docs" / "contract.md").read_text()


def _documented_settings() -> set[str]:
    names: set[str] = set()
    for row in re.findall(r"^\| (`[A-Z_].*?) \|", CONTRACT, flags=re.M):
        names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", row))
        if "…" in row:  # `EVENTS_TOPIC` … `DEADLETTER_TOPIC`: the five topics
            names.update({"REVIEW_TOPIC", "LABELS_TOPIC", "PREDICTIONS_TOPIC"})
    return names


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_contract(field: Any) -> None:
    assert field.upper() in _documented_settings(), f"STREAMAL_{field.upper()} is missing from docs/contract.md"


def test_the_contract_lists_no_setting_that_is_gone() -> None:
    assert _documented_settings() <= {f.upper() for f in Settings.model_fields}


def test_every_metric_is_in_the_contract() -> None:
    registry = CollectorRegistry()
    Metrics(registry)
    KeyMetrics(registry)  # (with a model per kind of event)
    for family in registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "_info" if family.type == "info" else "")
        assert f"`{name}`" in CONTRACT, f"{name} is missing from docs/contract.md"


def test_every_query_reason_is_in_the_contract() -> None:
    for reason in REASONS:
        assert f"`{reason}`" in CONTRACT
