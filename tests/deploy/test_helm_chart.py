"""The Helm chart, offline: Helm's own Go SDK (through helm-python-sdk) lints and renders it with
the default values and with every documented combination (deploy/helm/ferry/examples/), and every
rendered manifest is validated against the Kubernetes API schemas in strict mode."""

from __future__ import annotations

import base64
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
from rendered_chart import CHART, Manifest, env_of, one, render_chart

from ferry.training.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((CHART / "examples").glob("*.yaml"))
COMBINATIONS = ["defaults", *(path.stem for path in EXAMPLES)]
KUBERNETES = ("1.30", kubernetes_validate.utils.latest_version())
OPERATOR_KINDS = {"ServiceMonitor"}  # prometheus-operator CRDs: no schema in kubernetes-validate


def values_of(combination: str) -> dict[str, Any]:
    if combination == "defaults":
        return {}
    return helm.values_from_yaml((CHART / "examples" / f"{combination}.yaml").read_text())


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {combination: render_chart(values_of(combination)) for combination in COMBINATIONS}


def containers(pod: Manifest) -> Iterator[Manifest]:
    yield from pod.get("initContainers", [])
    yield from pod["containers"]


def test_the_chart_runs_the_ferry_it_ships_with() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    with helm.Chart.load(CHART) as chart:
        assert chart.metadata["appVersion"] == project["version"]


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_lint_finds_nothing_to_warn_about(combination: str) -> None:
    report = helm.lint(CHART, values_of(combination), strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_manifest_is_valid_kubernetes(
    rendered: dict[str, list[Manifest]], combination: str
) -> None:
    for manifest in rendered[combination]:
        for version in KUBERNETES:
            if manifest["kind"] in OPERATOR_KINDS:
                with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                    kubernetes_validate.validate(manifest, version, strict=True)
                continue
            kubernetes_validate.validate(manifest, version, strict=True)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_every_pod_runs_as_a_non_root_user_on_a_read_only_root(
    rendered: dict[str, list[Manifest]], combination: str
) -> None:
    pods = [
        m["spec"]["template"]["spec"] for m in rendered[combination] if m["kind"] == "Deployment"
    ]
    pods += [
        m["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for m in rendered[combination]
        if m["kind"] == "CronJob"
    ]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        mounts = set()
        for container in containers(pod):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts |= {mount["mountPath"] for mount in container["volumeMounts"]}
        assert "/tmp" in mounts, "a read-only root needs a writable /tmp"


def test_the_server_is_probed_on_the_v2_health_routes(rendered: dict[str, list[Manifest]]) -> None:
    pod = one(rendered["defaults"], "Deployment")["spec"]["template"]["spec"]
    server = next(c for c in pod["containers"] if c["name"] == "server")
    assert server["command"] == ["ferry", "serve"]
    assert server["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert server["startupProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert server["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert env_of(server)["FERRY_MODEL"] == "churn@production"


@pytest.mark.parametrize(
    ("combination", "volume"),
    [
        ("defaults", {"emptyDir": {"sizeLimit": "2Gi"}}),
        ("postgres-s3", {"persistentVolumeClaim": {"claimName": "demo-ferry-cache"}}),
        ("existing-secrets", {"persistentVolumeClaim": {"claimName": "ferry-compiled-cache"}}),
    ],
)
def test_the_init_container_compiles_every_model_into_the_cache_the_server_reads(
    rendered: dict[str, list[Manifest]], combination: str, volume: Manifest
) -> None:
    manifests = rendered[combination]
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    [compile_] = pod["initContainers"]
    server = pod["containers"][0]
    assert compile_["command"] == ["ferry", "compile"]
    assert compile_["args"] == [ref.strip() for ref in env_of(server)["FERRY_MODEL"].split(",")]
    cache = env_of(server)["FERRY_CACHE_DIR"]
    assert env_of(compile_)["FERRY_CACHE_DIR"] == cache
    for container in (compile_, server):
        assert {"name": "cache", "mountPath": cache} in container["volumeMounts"]
    assert {"name": "cache", **volume} in pod["volumes"]
    claims = [m for m in manifests if m["kind"] == "PersistentVolumeClaim"]
    created = combination == "postgres-s3"  # the chart creates the claim unless one is given
    assert [c["metadata"]["name"] for c in claims] == (["demo-ferry-cache"] if created else [])


def test_the_init_container_loads_with_the_servers_settings() -> None:
    settings = {"FERRY_COMPAT": "warn", "FERRY_ONNX": "off", "FERRY_WARMUP_ITERATIONS": 3}
    pod = one(render_chart({"settings": settings}), "Deployment")["spec"]["template"]["spec"]
    for container in containers(pod):  # a compile stricter than the server would block the pod
        env = env_of(container)
        assert {name: env.get(name) for name in settings} == {
            "FERRY_COMPAT": "warn", "FERRY_ONNX": "off", "FERRY_WARMUP_ITERATIONS": "3"
        }  # fmt: skip


def test_no_init_container_when_compile_is_off(rendered: dict[str, list[Manifest]]) -> None:
    pod = one(rendered["no-compile"], "Deployment")["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert pod["serviceAccountName"] == "ferry-reader"
    assert not [m for m in rendered["no-compile"] if m["kind"] == "ServiceAccount"]


def test_the_catalog_url_and_api_token_live_in_a_secret(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["postgres-s3"]
    secret = one(manifests, "Secret")
    decoded = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert decoded == {
        "catalog-url": "postgresql+psycopg://ferry:change-me@postgres.ml.svc:5432/ferry",
        "api-token": "change-me-too",
    }
    server = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = env_of(server)
    assert env["FERRY_CATALOG"] == {"secretKeyRef": {"name": "demo-ferry", "key": "catalog-url"}}
    assert env["FERRY_API_TOKEN"] == {"secretKeyRef": {"name": "demo-ferry", "key": "api-token"}}
    assert env["FERRY_ARTIFACTS"] == "s3://models/ferry"
    assert env["FERRY_LOG_DIR"] == "s3://models/ferry-logs"
    assert env["FERRY_S3_ENDPOINT_URL"] == "https://s3.eu-west-1.amazonaws.com"
    assert env["FERRY_S3_REGION"] == "eu-west-1"
    assert env["FERRY_S3_SECRET"] == {
        "secretKeyRef": {"name": "ferry-s3", "key": "AWS_SECRET_ACCESS_KEY"}
    }
    assert env["FERRY_REPLICA_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert all("change-me" not in str(value) for value in env.values())


def test_secrets_of_your_own_are_referenced_not_created(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["existing-secrets"]
    assert not [m for m in manifests if m["kind"] == "Secret"]
    server = one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    env = env_of(server)
    assert env["FERRY_CATALOG"] == {"secretKeyRef": {"name": "ferry-catalog", "key": "url"}}
    assert env["FERRY_API_TOKEN"] == {"secretKeyRef": {"name": "ferry-admin", "key": "token"}}


def test_service_autoscaler_and_disruption_budget_select_the_server_pods(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["defaults"]
    deployment = one(manifests, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert one(manifests, "Service")["spec"]["selector"].items() <= pod_labels.items()
    assert one(manifests, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= (
        pod_labels.items()
    )
    target = one(manifests, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"


def test_without_autoscaling_the_replica_count_is_fixed(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered["file-registry"]
    assert one(manifests, "Deployment")["spec"]["replicas"] == 1
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"HorizontalPodAutoscaler", "PodDisruptionBudget"}
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    assert {
        "name": "registry",
        "persistentVolumeClaim": {"claimName": "ferry-registry", "readOnly": False},
    } in pod["volumes"]
    assert env_of(pod["containers"][0])["FERRY_WARMUP_ITERATIONS"] == "20"


def test_the_service_monitor_is_optional_and_scrapes_metrics(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert not [m for m in rendered["defaults"] if m["kind"] == "ServiceMonitor"]
    manifests = rendered["postgres-s3"]
    monitor = one(manifests, "ServiceMonitor")
    service = one(manifests, "Service")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    [endpoint] = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}


def test_the_monitor_cron_job_runs_the_pipeline_from_values(
    rendered: dict[str, list[Manifest]], tmp_path: Path
) -> None:
    manifests = rendered["postgres-s3"]
    job = one(manifests, "CronJob")
    assert job["spec"]["schedule"] == "0 * * * *"
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["command"] == ["ferry", "monitor", "/etc/ferry/pipeline.toml"]
    assert env_of(container)["FERRY_CATALOG"] == {
        "secretKeyRef": {"name": "demo-ferry", "key": "catalog-url"}
    }
    config = one(manifests, "ConfigMap")
    assert {"name": "pipeline", "configMap": {"name": config["metadata"]["name"]}} in pod["volumes"]
    pipeline = tmp_path / "pipeline.toml"
    pipeline.write_text(config["data"]["pipeline.toml"])
    assert load_spec(pipeline).model.name == "churn"  # the documented pipeline is a valid one


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"cache": {"mode": "nfs"}}, "/cache/mode"),
        ({"replicaCount": 0}, "/replicaCount"),
        ({"model": "Churn@production"}, "/model"),
        ({"catalog": {"url": "mysql://db/ferry"}}, "/catalog/url"),
        ({"monitor": {"enabled": True}}, "/monitor/pipeline"),
        ({"settings": {"PATH": "/bin"}}, "PATH"),
        ({"replicas": 3}, "replicas"),
    ],
)
def test_the_schema_refuses_bad_values_naming_them(values: dict[str, Any], named: str) -> None:
    with helm.Chart.load(CHART) as chart, pytest.raises(helm.HelmValuesError, match=named):
        chart.render(values, name="demo")


def test_the_guide_shows_every_documented_combination() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for example in EXAMPLES:
        assert f"examples/{example.name}" in guide, f"docs/deploy.md never mentions {example.name}"


def test_a_baked_image_serves_its_bundle_with_no_init_container(
    rendered: dict[str, list[Manifest]],
) -> None:
    pod = one(rendered["baked"], "Deployment")["spec"]["template"]["spec"]
    assert "initContainers" not in pod, "a bundle is already verified and compiled"
    env = env_of(pod["containers"][0])
    assert env["FERRY_BUNDLE"] == "/bundle"
    assert "FERRY_MODEL" not in env and "FERRY_CATALOG" not in env
    assert pod["containers"][0]["image"] == "registry.example.com/ml/churn:1.4.0"
