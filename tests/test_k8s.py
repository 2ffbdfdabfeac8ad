"""The Kubernetes manifests (deploy/k8s/): valid against Kubernetes' own schemas
and in step with the compose file's settings."""
from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import ROOT

K8S = ROOT / "deploy" / "k8s"


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def resources() -> list[dict]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    found = []
    for name in kustomization["resources"]:
        found += documents(K8S / name)
    return found + documents(K8S / "secret.example.yaml")


@pytest.mark.parametrize("resource", resources(), ids=lambda r: f"{r['kind']}/{r['metadata']['name']}")
def test_manifest_is_valid_for_kubernetes(resource: dict) -> None:
    kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


def test_a_broken_manifest_is_refused() -> None:
    bad = documents(K8S / "worker.yaml")[0]
    bad["spec"]["replicas"] = "many"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, kubernetes_validate.latest_version(), strict=True)


def test_manifests_run_what_compose_runs() -> None:
    by_name = {(r["kind"], r["metadata"]["name"]): r for r in resources()}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for deployment, service in (("gateway", "web"), ("worker", "worker")):
        container = by_name[("Deployment", deployment)]["spec"]["template"]["spec"]["containers"][0]
        command = [str(a) for a in compose[service]["command"]]
        if service == "worker":  # compose fills the concurrency from .env
            command[command.index("--concurrency") + 1] = "2"
        assert container["command"] == command
        assert container["envFrom"] == [{"configMapRef": {"name": "flask-qed"}}]
    config = by_name[("ConfigMap", "flask-qed")]["data"]
    # the visibility timeout outlasts the hard time limit, as the settings check demands
    assert int(config["QED_VISIBILITY_TIMEOUT"]) > int(config["QED_TASK_TIME_LIMIT"])
    assert config["QED_API_KEYS_FILE"] == compose["web"]["environment"]["QED_API_KEYS_FILE"]
