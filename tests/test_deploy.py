"""The deployment files: Prometheus config and alerts (promtool), the dashboard, compose and the Dockerfile.

No Docker engine runs here: the compose file is validated against the
Compose specification's schema and cross-checked with the settings; the
images themselves are not built or started.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "streamal.json"
PROMTOOL = shutil.which("promtool")

def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: `make test` installs it (apt-get install prometheus)"
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def load_builder() -> Any:
    spec = importlib.util.spec_from_file_location("build_dashboard", DEPLOY / "grafana" / "build_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- Prometheus -----------------------------------------------------------------------------------


def test_promtool_checks_the_config_and_the_rules(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]  # where compose mounts it
    config["rule_files"] = [str(ALERTS)]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 rules found" in result.stdout


def test_every_alert_has_a_severity_a_summary_and_a_runbook() -> None:
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names)) == 12
    for r in rules:
        assert re.fullmatch(r"(?:[A-Z][a-z]+)+", r["alert"]), r["alert"]  # CamelCase
        assert r["labels"]["severity"] in {"critical", "warning", "info"}
        assert r["annotations"]["summary"] and r["annotations"]["runbook"]
    drift = next(r for r in rules if r["alert"] == "StreamalDriftAlarm")
    assert "increase(streamal_drift_alarms_total" in drift["expr"]


# Each alert: series that make it fire on instance "bad", series that keep it silent on "good", and when to look.
M = 'job="streamal"'
SCENARIOS = {
    "StreamalDown": (
        {f'up{{{M},instance="bad"}}': "1 1 0x10", f'up{{{M},instance="good"}}': "1x12"}, "8m", {"job": "streamal"}),
    "StreamalDriftAlarm": (
        {f'streamal_drift_alarms_total{{{M},instance="bad",detector="error"}}': "0 0 0 1 1 1 1 1",
         f'streamal_drift_alarms_total{{{M},instance="good",detector="error"}}': "0x8"},
        "5m", {"detector": "error", "job": "streamal"}),
    "StreamalAuditAccuracyLow": (
        {f'streamal_accuracy{{{M},instance="bad",model="champion",estimate="audit"}}': "0.55x40",
         f'streamal_accuracy{{{M},instance="good",model="champion",estimate="audit"}}': "0.92x40",
         f'streamal_accuracy{{{M},instance="good",model="challenger",estimate="audit"}}': "0.40x40",
         f'streamal_accuracy_labels{{{M},instance="bad",model="champion",estimate="audit"}}': "80x40",
         f'streamal_accuracy_labels{{{M},instance="good",model="champion",estimate="audit"}}': "80x40",
         f'streamal_accuracy_labels{{{M},instance="good",model="challenger",estimate="audit"}}': "80x40"},
        "30m", {"estimate": "audit", "model": "champion", "job": "streamal"}),
    "StreamalClassRecallFell": (
        {f'streamal_audit_recall{{{M},instance="bad",class="c2"}}': "0.9x60 0.3x40",
         f'streamal_audit_recall{{{M},instance="good",class="c2"}}': "0.9x100"},
        "85m", {"class": "c2", "job": "streamal"}),
    "StreamalNewClass": (
        {f'streamal_new_class_timestamp_seconds{{{M},instance="bad"}}': "0 0 0 0 0 300 300 300 300 300",
         f'streamal_new_class_timestamp_seconds{{{M},instance="good"}}': "0x10"},
        "7m", {"job": "streamal"}),
    "StreamalQueryRateOverBudget": (
        {f'streamal_events_total{{{M},instance="bad",outcome="scored"}}': "0+600x60",
         f'streamal_queries_total{{{M},instance="bad",reason="uncertainty"}}': "0+120x60",
         f'streamal_budget_ratio{{{M},instance="bad"}}': "0.05x60",
         f'streamal_events_total{{{M},instance="good",outcome="scored"}}': "0+600x60",
         f'streamal_queries_total{{{M},instance="good",reason="uncertainty"}}': "0+30x60",
         f'streamal_budget_ratio{{{M},instance="good"}}': "0.05x60"},
        "45m", {}),
    "StreamalQueryRateUnderBudget": (
        {f'streamal_events_total{{{M},instance="bad",outcome="scored"}}': "0+600x90",
         f'streamal_queries_total{{{M},instance="bad",reason="uncertainty"}}': "0+3x90",
         f'streamal_budget_ratio{{{M},instance="bad"}}': "0.05x90",
         f'streamal_events_total{{{M},instance="good",outcome="scored"}}': "0+600x90",
         f'streamal_queries_total{{{M},instance="good",reason="uncertainty"}}': "0+30x90",
         f'streamal_budget_ratio{{{M},instance="good"}}': "0.05x90"},
        "80m", {}),
    "StreamalReviewBacklogGrowing": (
        {f'streamal_review_backlog{{{M},instance="bad"}}': "100+10x90",
         f'streamal_review_backlog{{{M},instance="good"}}': "150x90"},
        "80m", {"job": "streamal"}),
    "StreamalLabelsStalled": (
        {f'streamal_queries_total{{{M},instance="bad",reason="uncertainty"}}': "0+5x90",
         f'streamal_labels_total{{{M},instance="bad",outcome="learned"}}': "40x90",
         f'streamal_queries_total{{{M},instance="good",reason="uncertainty"}}': "0+5x90",
         f'streamal_labels_total{{{M},instance="good",outcome="learned"}}': "0+5x90"},
        "80m", {}),
    "StreamalConsumerLagGrowing": (
        {f'streamal_consumer_lag_messages{{{M},instance="bad",partition="0"}}': "1000+100x60",
         f'streamal_consumer_lag_messages{{{M},instance="good",partition="0"}}': "5000x60"},
        "45m", {}),
    "StreamalSaturated": (
        {f'streamal_saturated{{{M},instance="bad"}}': "1x40", f'streamal_saturated{{{M},instance="good"}}': "0x40"},
        "35m", {}),
    "StreamalCheckpointStale": (
        {f'streamal_last_checkpoint_timestamp_seconds{{{M},instance="bad"}}': "30x30",
         f'streamal_last_checkpoint_timestamp_seconds{{{M},instance="good"}}': "0+60x30"},
        "25m", {"job": "streamal"}),
}


def expected_annotations(rule: dict[str, Any], labels: dict[str, str]) -> dict[str, str]:
    out = {}
    for key, text in rule["annotations"].items():
        for name, value in labels.items():
            text = text.replace("{{ $labels." + name + " }}", value)
        assert "{{" not in text, f"unrendered template in {rule['alert']}: {text}"
        out[key] = text
    return out


def test_promtool_rule_tests_fire_on_bad_series_and_stay_silent_on_healthy_ones(tmp_path: Path) -> None:
    rules = {r["alert"]: r for r in yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]}
    assert set(SCENARIOS) == set(rules), "every alert needs a scenario"
    tests = []
    for name, (series, at, extra) in SCENARIOS.items():
        labels = {"instance": "bad", **extra}
        exp = {"exp_labels": {"severity": rules[name]["labels"]["severity"], **labels},
               "exp_annotations": expected_annotations(rules[name], labels)}
        tests.append({
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": [
                {"eval_time": "0m", "alertname": name, "exp_alerts": []},
                {"eval_time": at, "alertname": name, "exp_alerts": [exp]},
            ],
        })
    path = tmp_path / "alerts_test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": tests}))
    result = promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


# -- Grafana --------------------------------------------------------------------------------------


def test_the_dashboard_json_is_built_from_its_code() -> None:
    builder = load_builder()
    assert DASHBOARD.read_text() == builder.render(), "run: python deploy/grafana/build_dashboard.py"
    dash = builder.build()
    titles = " ".join(p["title"].lower() for p in dash["panels"])
    for topic in ("events per second", "query rate against budget", "queries by reason", "accuracy",
                  "review backlog", "label delay", "latency", "consumer lag", "dead letters"):
        assert topic in titles
    assert "streamal_drift_alarms_total" in dash["annotations"]["list"][0]["expr"]
    provisioning = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text())
    assert provisioning["datasources"][0]["uid"] == dash["panels"][0]["datasource"]["uid"]


def test_the_dashboard_has_an_instance_variable_every_panel_honours() -> None:
    dash = load_builder().build()
    [variable] = dash["templating"]["list"]
    assert variable["name"] == "instance" and variable["includeAll"] and variable["multi"]
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]] + [a["expr"] for a in dash["annotations"]["list"]]
    for expr in exprs:
        selectors = re.findall(r"streamal_\w+\{([^}]*)\}", expr)
        assert selectors, expr
        assert all('instance=~"$instance"' in sel for sel in selectors), expr
    per_instance = [p["title"] for p in dash["panels"] if any("instance" in t["legendFormat"] for t in p["targets"])]
    assert len(per_instance) >= 12, per_instance


def promql_metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: identifiers that are not functions, keywords or labels."""
    expr = re.sub(r"(?:by|without|on|ignoring)\s*\([^)]*\)", " ", expr)  # grouping labels
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)  # matchers, ranges, strings
    words = re.findall(r"\b([a-zA-Z_][a-zA-Z0-9_]*)\b(\s*\()?", expr)
    keywords = {"and", "or", "unless", "bool", "offset"}
    return {w for w, call in words if not call and w not in keywords}


def test_every_expression_names_only_metrics_the_service_exports() -> None:
    from fastapi.testclient import TestClient
    from prometheus_client import CollectorRegistry

    from streamal.http.app import create_app
    from streamal.service.health import Health
    from streamal.service.key_metrics import KeyMetrics
    from streamal.service.metrics import Metrics

    registry = CollectorRegistry()
    Metrics(registry)
    KeyMetrics(registry)  # exported with a model per kind of event (STREAMAL_MODEL_KEY)
    with TestClient(create_app(Health(), registry)) as client:
        text = client.get("/metrics").text
    exported = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
    names = set()
    for name, kind in exported:
        names.add(name)
        if kind == "counter":
            names.add(name + "_total")
        if kind == "histogram":
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    names.add("up")  # Prometheus's own
    exprs = [r["expr"] for r in yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]]
    dash = load_builder().build()
    exprs += [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs += [a["expr"] for a in dash["annotations"]["list"]]
    used = set()
    for expr in exprs:
        used |= promql_metric_names(expr)
    assert used - names == set()
    assert {"streamal_queries_total", "streamal_accuracy", "streamal_consumer_lag_messages"} <= used


# -- compose and Dockerfile ------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification() -> None:
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
                             str(ROOT / "docker-compose.yml")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services_reference_real_files_and_agree_on_ports() -> None:
    from streamal.config import Settings

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"kafka", "topics", "streamal", "prometheus", "grafana", "replay", "oracle"} <= set(services)
    assert services["replay"]["profiles"] == ["demo"] == services["oracle"]["profiles"]
    for svc in services.values():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source
            else:
                assert source in compose["volumes"], source
    assert (ROOT / services["streamal"]["build"] / "Dockerfile").exists()
    port = int(services["streamal"]["environment"]["STREAMAL_HTTP_PORT"])
    assert port == Settings.model_fields["http_port"].default
    assert services["streamal"]["ports"] == [f"{port}:{port}"]
    scrape = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())["scrape_configs"][0]
    assert scrape["static_configs"][0]["targets"] == [f"streamal:{port}"]
    for key in services["streamal"]["environment"]:  # every setting given is one streamal knows
        assert key.removeprefix("STREAMAL_").lower() in Settings.model_fields, key
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{kafka['KAFKA_NODE_ID']}@kafka:9093"
    assert kafka["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert services["streamal"]["environment"]["STREAMAL_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert ":" in services["kafka"]["image"] and not services["kafka"]["image"].endswith(":latest")


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    final = stages[-1]
    assert final.startswith("python:3.11-slim")
    assert re.search(r"^USER (?!root)\S+", final, re.M)
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert 'ENTRYPOINT ["streamal"]' in final and 'CMD ["run"]' in final
    assert "EXPOSE 8000" in final
    assert "apt-get" not in final and "gcc" not in final  # no build tools in the final image
    assert "'.[fast]'" in stages[0]  # both Kafka clients in the image: the client is a setting, not a rebuild


def test_compose_lets_host_clients_reach_kafka_and_wires_the_review_tokens() -> None:
    from streamal.config import parse_tokens
    from streamal.runtime import token_warnings

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    kafka = compose["services"]["kafka"]
    env = kafka["environment"]
    listeners = dict(item.split("://") for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert listeners["EXTERNAL"] == "localhost:29092" and listeners["PLAINTEXT"] == "kafka:9092"
    assert "29092:29092" in kafka["ports"] and "EXTERNAL:PLAINTEXT" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "EXTERNAL://:29092" in env["KAFKA_LISTENERS"]
    streamal = compose["services"]["streamal"]
    assert streamal["environment"]["STREAMAL_REVIEW_TOKENS"] == "@/run/secrets/review_tokens"
    assert streamal["secrets"] == ["review_tokens"]
    secret = compose["secrets"]["review_tokens"]["file"]
    example = ROOT / secret.split(":-")[1].rstrip("}")
    tokens = parse_tokens(f"@{example}")
    assert len(tokens.names()) == 2 and token_warnings(tokens)  # the example works, and streamal says it is one
    assert token_warnings(parse_tokens("")) and not token_warnings(parse_tokens("analyst-1:a-real-secret-token"))
    assert "/readyz" in " ".join(streamal["healthcheck"]["test"])  # the demo waits on readiness
    assert compose["services"]["replay"]["depends_on"]["streamal"]["condition"] == "service_healthy"
    create = compose["services"]["topics"]["command"][0]
    assert "streamal.review:1" in create and "streamal.labels:1" in create  # one order of labels for every replica


def test_the_image_build_context_leaves_out_the_venv_and_the_history() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".venv/", ".git/", "state/", "tests/"} <= set(ignored)
    copied = re.findall(r"^COPY (?!--from)(.+) \S+$", (ROOT / "Dockerfile").read_text(), re.M)
    for line in copied:
        for path in line.split():
            assert (ROOT / path).exists() and path not in ignored, path


def test_what_sres_deploy_runs_the_fast_client() -> None:
    """The image installs the fast extra and nothing deployed pins the pure-Python client: auto picks librdkafka."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "'.[fast]'" in dockerfile
    deployed = [ROOT / "docker-compose.yml", *sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))]
    for path in deployed:
        text = path.read_text()
        assert "KAFKA_CLIENT: kafka-python" not in text and "KAFKA_CLIENT=kafka-python" not in text, path
    from streamal.config import Settings

    assert Settings.model_fields["kafka_client"].default == "auto"
