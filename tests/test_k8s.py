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


# -- overlays: RabbitMQ as the broker, workers scaled on the queue's depth ---------------------
OVERLAYS = K8S / "overlays"


def overlay(name: str) -> list[dict]:
    """The resources an overlay adds to the base (the base's own are checked above)."""
    kustomization = yaml.safe_load((OVERLAYS / name / "kustomization.yaml").read_text())
    assert kustomization["resources"][0] == "../../"  # on top of the base
    found = []
    for entry in kustomization["resources"][1:]:
        found += documents(OVERLAYS / name / entry)
    return found


OVERLAY_RESOURCES = [(name, r) for name in ("rabbitmq", "autoscale") for r in overlay(name)]


@pytest.mark.parametrize("name,resource", OVERLAY_RESOURCES,
                         ids=lambda v: v if isinstance(v, str) else f"{v['kind']}/{v['metadata']['name']}")
def test_overlay_manifest_is_valid_for_kubernetes(name: str, resource: dict) -> None:
    kubernetes_validate.validate(resource, kubernetes_validate.latest_version(), strict=True)


def test_rabbitmq_overlay_runs_a_durable_broker_from_the_secret() -> None:
    by_kind = {r["kind"]: r for r in overlay("rabbitmq")}
    pod = by_kind["StatefulSet"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in pod["env"]}
    assert env["RABBITMQ_DEFAULT_PASS"]["valueFrom"]["secretKeyRef"] == \
        {"name": "flask-qed", "key": "RABBITMQ_PASSWORD"}
    assert {m["mountPath"] for m in pod["volumeMounts"]} == {"/var/lib/rabbitmq"}
    assert by_kind["Service"]["spec"]["ports"][0]["port"] == 5672
    secret = documents(K8S / "secret.example.yaml")[0]["stringData"]
    assert "RABBITMQ_PASSWORD" in secret and "RABBITMQ_ERLANG_COOKIE" in secret
    for manifest in ("gateway.yaml", "worker.yaml"):  # the Redis beside RabbitMQ, when the secret names it
        deployment = next(d for d in documents(K8S / manifest) if d["kind"] == "Deployment")
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["QED_REDIS_URL"]["valueFrom"]["secretKeyRef"] == \
            {"name": "flask-qed", "key": "QED_REDIS_URL", "optional": True}


def test_autoscale_overlay_scales_the_worker_on_the_queue_depth_metrics_exposes() -> None:
    hpa = overlay("autoscale")[0]
    assert hpa["kind"] == "HorizontalPodAutoscaler" and hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "worker"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    external = hpa["spec"]["metrics"][0]["external"]
    assert external["metric"]["name"] == _queue_depth_metric()
    assert external["metric"]["selector"]["matchLabels"] == {"queue": _default_queue()}


def test_keda_scaled_object_has_the_shape_keda_documents() -> None:
    """KEDA's CRD is not among Kubernetes' schemas: its fields are checked here against
    KEDA's ScaledObject specification (keda.sh/v1alpha1; prometheus trigger)."""
    found = documents(OVERLAYS / "autoscale" / "keda-scaledobject.yaml")
    assert len(found) == 1
    scaled = found[0]
    assert scaled["apiVersion"] == "keda.sh/v1alpha1" and scaled["kind"] == "ScaledObject"
    assert set(scaled) == {"apiVersion", "kind", "metadata", "spec"}
    spec = scaled["spec"]
    allowed = {"scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
               "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers"}
    assert set(spec) <= allowed, set(spec) - allowed
    assert set(spec["scaleTargetRef"]) <= {"apiVersion", "kind", "name", "envSourceContainerName"}
    assert spec["scaleTargetRef"]["name"] == "worker"
    for field in ("pollingInterval", "cooldownPeriod", "minReplicaCount", "maxReplicaCount"):
        assert isinstance(spec[field], int) and spec[field] >= 0, field
    assert spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    metadata = trigger["metadata"]
    assert {"serverAddress", "query", "threshold"} <= set(metadata)
    assert all(isinstance(v, str) for v in metadata.values())  # KEDA's metadata is a map of strings
    assert float(metadata["threshold"]) > 0 and metadata["serverAddress"].startswith(("http://", "https://"))
    assert _queue_depth_metric() in metadata["query"] and f'queue="{_default_queue()}"' in metadata["query"]
    hpa = overlay("autoscale")[0]  # the two forms hold the same rule
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == \
        (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
    assert float(metadata["threshold"]) == float(hpa["spec"]["metrics"][0]["external"]["target"]["averageValue"])


def _queue_depth_metric() -> str:
    """The gauge's name as /metrics exposes it (flask_qed.metrics.QueueDepth)."""
    from flask_qed.metrics import QueueDepth

    class NoBroker:
        class conf:  # noqa: N801 - the shape of Celery's conf
            broker_url = "redis://127.0.0.1:1/0"

        def connection_for_read(self) -> None:
            raise OSError("no broker")

    return next(iter(QueueDepth(NoBroker(), "q").collect())).name


def _default_queue() -> str:
    from flask_qed.config import load_settings
    return load_settings({}).queue
