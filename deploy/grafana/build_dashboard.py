"""Build deploy/grafana/dashboards/streamal.json, the streamal dashboard, from this file.

    python deploy/grafana/build_dashboard.py            # rewrite the JSON
    python deploy/grafana/build_dashboard.py --check    # fail if the JSON is out of date

Plain Python and the standard library: each panel is one call below, so a
new metric is one line here and a test (tests/test_deploy.py) keeps the JSON,
this file and the metrics the service exports in step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "dashboards" / "streamal.json"
DS = {"type": "prometheus", "uid": "prometheus"}
RATE = "$__rate_interval"

_panels: list[dict[str, Any]] = []
_y = 0


def _place(width: int, height: int) -> dict[str, int]:
    global _y
    used = sum(p["gridPos"]["w"] for p in _panels if p["gridPos"]["y"] == _y)
    if used + width > 24:
        _y += max(p["gridPos"]["h"] for p in _panels if p["gridPos"]["y"] == _y)
        used = 0
    return {"x": used, "y": _y, "w": width, "h": height}


def panel(title: str, targets: list[tuple[str, str]], *, unit: str = "short", kind: str = "timeseries",
          width: int = 12, height: int = 8, description: str = "", **field: Any) -> None:
    """Add a panel: ``targets`` are ``(PromQL, legend)`` pairs."""
    _panels.append({
        "id": len(_panels) + 1,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "gridPos": _place(width, height),
        "fieldConfig": {"defaults": {"unit": unit, **field}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if kind == "timeseries" else {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DS, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    })


#: The matcher of the unbiased estimate (the audit sample's).
AUDIT = 'estimate="audit"'


def m(name: str, matchers: str = "") -> str:
    """A metric selector limited to the instances chosen in the dashboard's ``instance`` variable."""
    return f'{name}{{instance=~"$instance"{", " + matchers if matchers else ""}}}'


def build() -> dict[str, Any]:
    """The dashboard as a dict (Grafana's JSON model); one line per replica where replicas differ."""
    _panels.clear()
    global _y
    _y = 0
    events_scored = m("streamal_events_total", 'outcome="scored"')
    events_invalid = m("streamal_events_total", 'outcome="invalid"')
    spent_recent = m("streamal_budget_spent_ratio", 'window="recent"')
    scored = f"sum by (instance) (rate({events_scored}[{RATE}]))"
    panel("Events per second, by instance", [
        (scored, "{{instance}} scored"),
        (f"sum by (instance) (rate({events_invalid}[{RATE}]))", "{{instance}} invalid"),
    ], unit="ops", width=6, kind="timeseries")
    panel("Query rate against budget, by instance", [
        (f"sum by (instance) (rate({m('streamal_queries_total')}[{RATE}])) / {scored}", "{{instance}} query rate"),
        (f"max by (instance) ({m('streamal_budget_ratio')})", "{{instance}} budget"),
        (f"max by (instance) ({spent_recent})", "{{instance}} spent over the window"),
    ], unit="percentunit", width=9)
    panel("Queries by reason (all instances)",
          [(f"sum by (reason) (rate({m('streamal_queries_total')}[{RATE}]))", "{{reason}}")],
          unit="ops", width=9, stacking={"mode": "normal"})
    panel("Accuracy, champion and challenger (audit: unbiased; queried: all labelled); drift alarms as annotations",
          [(f"max by (instance, model, estimate) ({m('streamal_accuracy')})", "{{instance}} {{model}} {{estimate}}")],
          unit="percentunit", width=12, min=0, max=1)
    panel("Drift alarms",
          [(f"sum by (instance, detector) (increase({m('streamal_drift_alarms_total')}[{RATE}]))",
            "{{instance}} {{detector}}")], width=6, kind="timeseries", drawStyle="bars")
    panel("Labels learned (model version), by instance",
          [(f"max by (instance) ({m('streamal_model_version')})", "{{instance}}")], width=6, kind="stat")
    panel("Classes learned (new classes since start), by instance",
          [(f"max by (instance) ({m('streamal_classes_total')})", "{{instance}}")], width=6, kind="stat")
    panel("Audit recall per class (unbiased; top classes, the rest as other)",
          [(f"max by (class) ({m('streamal_audit_recall')})", "{{class}}")], width=18)
    panel("Review backlog", [(f"max by (instance) ({m('streamal_review_backlog')})", "{{instance}}")], width=8)
    panel("Oldest open review item",
          [(f"max by (instance) ({m('streamal_review_backlog_age_seconds')})", "{{instance}}")], unit="s", width=8)
    panel("Label delay (query to label)", [
        (f"histogram_quantile(0.5, sum by (le) (rate({m('streamal_label_delay_seconds_bucket')}[{RATE}])))",
         "median"),
        (f"histogram_quantile(0.9, sum by (le) (rate({m('streamal_label_delay_seconds_bucket')}[{RATE}])))", "p90"),
    ], unit="s", width=8)
    panel("Processing latency per event, by instance", [
        (f"histogram_quantile({q}, sum by (instance, le) "
         f"(rate({m('streamal_event_processing_seconds_bucket')}[{RATE}])))", f"{{{{instance}}}} {name}")
        for q, name in ((0.5, "p50"), (0.99, "p99"))
    ], unit="s", width=8)
    panel("Consumer lag by instance and partition",
          [(f"sum by (instance, partition) ({m('streamal_consumer_lag_messages')})",
            "{{instance}} partition {{partition}}")], width=8)
    panel("Dead letters by reason",
          [(f"sum by (reason) (increase({m('streamal_dead_letters_total')}[{RATE}]))", "{{reason}}")],
          width=8, drawStyle="bars")
    panel("Strategy threshold", [(f"max by (instance) ({m('streamal_strategy_threshold')})", "{{instance}}")],
          width=8)
    panel("Stopping rule: saturated (1) and stop-set agreement", [
        (f"max by (instance) ({m('streamal_saturated')})", "{{instance}} saturated"),
        (f"max by (instance) ({m('streamal_stop_agreement')})", "{{instance}} agreement (kappa)")], width=8)
    panel("Calibration on the audit sample (lower is better), champion and challenger", [
        (f"max by (instance, model, measure) ({m('streamal_calibration')})", "{{instance}} {{model}} {{measure}}")],
        width=8)
    panel("Challenger's lead on the same labels (above 0: it would do better)",
          [(f"max by (instance) ({m('streamal_challenger_lead')})", "{{instance}}")], unit="percentunit", width=8)
    panel("Events scored by key (a model per kind of event, STREAMAL_MODEL_KEY)", [
        (f"sum by (key) (rate({m('streamal_key_events_total')}[{RATE}]))", "{{key}}")], unit="ops", width=8)
    panel("Accuracy by key (audit: unbiased)", [
        (f"avg by (key) ({m('streamal_key_accuracy', AUDIT)})", "{{key}}")],
        unit="percentunit", width=8)
    panel("Models of keys: in memory and parked; keys beyond STREAMAL_MAX_KEYS", [
        (f"sum by (state) ({m('streamal_models')})", "{{state}}"),
        (f"sum (rate({m('streamal_key_overflow_total')}[{RATE}]))", "overflow / s")], width=8)
    panel("Checkpoint age", [(f"max by (instance) ({m('streamal_checkpoint_age_seconds')})", "{{instance}}")],
          unit="s", width=8, kind="stat")
    panel("Checkpoint duration", [
        (f"histogram_quantile(0.95, sum by (instance, le) "
         f"(rate({m('streamal_checkpoint_duration_seconds_bucket')}[{RATE}])))", "{{instance}} p95"),
    ], unit="s", width=8)
    return {
        "uid": "streamal",
        "title": "streamal",
        "tags": ["streamal", "active-learning"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "annotations": {"list": [{
            "name": "Drift alarms",
            "datasource": DS,
            "enable": True,
            "iconColor": "red",
            "expr": f"sum by (instance, detector) (increase({m('streamal_drift_alarms_total')}[1m])) > 0",
            "titleFormat": "drift alarm",
            "textFormat": "{{instance}}: detector {{detector}}",
            "step": "60s",
        }]},
        "templating": {"list": [{
            "name": "instance",
            "label": "instance",
            "type": "query",
            "datasource": DS,
            "query": {"query": "label_values(streamal_build_info, instance)", "refId": "instance"},
            "definition": "label_values(streamal_build_info, instance)",
            "refresh": 2,
            "includeAll": True,
            "multi": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        }]},
        "panels": list(_panels),
    }


def render() -> str:
    """The dashboard JSON as written to disk."""
    return json.dumps(build(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run python {Path(__file__).as_posix()}", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(_panels)} panels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
