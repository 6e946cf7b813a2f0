"""The Kubernetes manifests: valid against the Kubernetes schemas, and in step with each other and with streamal."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from streamal.config import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
SCHEMAS = Path(__file__).parent / "schemas"


def resources() -> dict[str, dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    out = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / name).read_text()):
            out[f"{doc['kind']}/{doc['metadata']['name']}"] = doc
    return out


def test_core_resources_validate_against_the_kubernetes_schemas() -> None:
    binary = shutil.which("kubernetes-validate") or str(Path(__file__).parents[1] / ".venv/bin/kubernetes-validate")
    files = ["configmap.yaml", "service.yaml", "statefulset.yaml", "poddisruptionbudget.yaml"]
    result = subprocess.run([binary, "--strict", "--kubernetes-version", "1.30.0", *[str(K8S / f) for f in files]],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout + result.stderr


def test_the_custom_resources_validate_against_their_documented_shape() -> None:
    docs = resources()
    for kind, schema in (("ScaledObject/streamal", "scaledobject"), ("ServiceMonitor/streamal", "servicemonitor")):
        jsonschema.validate(docs[kind], json.loads((SCHEMAS / f"{schema}.schema.json").read_text()))


def test_the_manifests_agree_with_each_other_and_with_streamal() -> None:
    docs = resources()
    config = docs["ConfigMap/streamal"]["data"]
    for key in config:
        assert key.removeprefix("STREAMAL_").lower() in Settings.model_fields, key
    sts = docs["StatefulSet/streamal"]
    pod = sts["spec"]["template"]
    [container] = pod["spec"]["containers"]
    port = int(config["STREAMAL_HTTP_PORT"])
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["state"] == config["STREAMAL_STATE_DIR"]  # the checkpoint on the replica's own volume
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    assert config["STREAMAL_REVIEW_TOKENS"] == f"@{mounts['review-tokens']}/tokens"
    assert sts["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert docs[f"Service/{sts['spec']['serviceName']}"]["spec"]["clusterIP"] == "None"
    # the autoscaler watches the group and the topic the replicas consume, and targets this workload
    scaled = docs["ScaledObject/streamal"]["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "streamal"}
    [trigger] = scaled["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    assert meta["consumerGroup"] == config["STREAMAL_GROUP_ID"] and meta["topic"] == config["STREAMAL_EVENTS_TOPIC"]
    assert meta["bootstrapServers"] == config["STREAMAL_KAFKA_BOOTSTRAP"]
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"] <= int(config["STREAMAL_TOPIC_PARTITIONS"])
    # Prometheus finds the service, on the port the pods name, at /metrics
    monitor = docs["ServiceMonitor/streamal"]["spec"]
    service = docs["Service/streamal"]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["endpoints"][0]["path"] == "/metrics"
