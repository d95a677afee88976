"""deploy/k8s: every manifest validates against the Kubernetes schemas (kubernetes-validate, offline, strict), the
production overlay renders (kubectl kustomize or kustomize where installed; otherwise its references are checked),
and the manifests say what docs/deploy.md promises: probes on paths the app serves, a drain before SIGTERM, one beat,
autoscaled workers, a backup job and a scrape job that sends the metrics token."""

import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
# The oldest Kubernetes still widely run and the newest the validator knows.
VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
PATCHED_KINDS_ONLY = {"kustomization.yaml"}


def _documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def _manifest_files() -> list[Path]:
    """Every full manifest: the base's files (the secret example too) and the overlay's own resources."""
    kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8"))
    overlay_own = [PRODUCTION / name for name in kustomization["resources"] if (PRODUCTION / name).is_file()]
    return [path for path in sorted(BASE.glob("*.yaml")) if path.name not in PATCHED_KINDS_ONLY] + overlay_own


def _kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def _render(directory: Path) -> list[dict]:
    command = _kustomize_command()
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def _by_kind_and_name(documents: list[dict]) -> dict[tuple[str, str], dict]:
    return {(document["kind"], document["metadata"]["name"]): document for document in documents}


def _base() -> dict[tuple[str, str], dict]:
    return _by_kind_and_name([document for path in _manifest_files() for document in _documents(path)])


def _pod_spec(resource: dict) -> dict:
    spec = resource["spec"]
    if "jobTemplate" in spec:
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", _manifest_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_every_manifest_validates_against_the_kubernetes_schema(path, version):
    for document in _documents(path):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_rejects_a_broken_manifest():
    """The validation above bites: a misspelt field under strict validation and a string where a number belongs."""
    web = _base()[("Deployment", "vendbot-web")]
    broken = yaml.safe_load(yaml.safe_dump(web))
    broken["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)
    broken = yaml.safe_load(yaml.safe_dump(web))
    broken["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "soon"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_every_file_a_kustomization_names_exists():
    for directory in (BASE, PRODUCTION):
        kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
        named = [*kustomization.get("resources", []), *(patch["path"] for patch in kustomization.get("patches", []))]
        for name in named:
            assert (directory / name).exists(), f"{directory.relative_to(ROOT)}/kustomization.yaml names {name}"
    assert "secret.example.yaml" not in yaml.safe_load((BASE / "kustomization.yaml").read_text())["resources"]


def test_every_strategic_patch_of_the_overlay_names_a_base_resource():
    base = _base()
    kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8"))
    for patch in kustomization["patches"]:
        if "target" in patch:
            continue  # a JSON 6902 patch: its target is checked by the rendering test
        for document in _documents(PRODUCTION / patch["path"]):
            assert (document["kind"], document["metadata"]["name"]) in base, patch["path"]


@pytest.mark.skipif(_kustomize_command() is None, reason="neither kustomize nor kubectl is installed")
@pytest.mark.parametrize("version", VERSIONS)
def test_the_production_overlay_renders_and_validates(version):
    rendered = _by_kind_and_name(_render(PRODUCTION))
    for resource in rendered.values():
        kubernetes_validate.validate(resource, version, strict=True)
        assert resource["kind"] == "Namespace" or resource["metadata"]["namespace"] == "vendbot"
    web = rendered[("Deployment", "vendbot-web")]
    assert web["spec"]["replicas"] == 3
    assert rendered[("HorizontalPodAutoscaler", "vendbot-worker")]["spec"]["maxReplicas"] == 20
    images = {
        container["image"]
        for resource in rendered.values()
        if resource["kind"] in {"Deployment", "Job", "CronJob"}
        for container in [*_pod_spec(resource).get("initContainers", []), *_pod_spec(resource)["containers"]]
    }
    assert "registry.example.jp/vendbot/vendbot:1.0.0" in images
    assert not any(image.endswith(":latest") or ":" not in image for image in images), images
    hosts = {
        rule["host"] for key, ingress in rendered.items() if key[0] == "Ingress" for rule in ingress["spec"]["rules"]
    }
    assert hosts == {"vendbot.example.co.jp"}
    assert rendered[("ConfigMap", "vendbot-config")]["data"]["SHOP_HOSTNAMES"] == "vendbot.example.co.jp"


def test_web_has_replicas_probes_on_served_paths_a_drain_resources_and_a_budget(client, db):
    base = _base()
    web = base[("Deployment", "vendbot-web")]
    assert web["spec"]["replicas"] >= 2
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = _pod_spec(web)["containers"]
    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes["livenessProbe"] == "/healthz"
    assert probes["readinessProbe"].startswith("/readyz")
    for path in set(probes.values()):
        assert client.get(path).status_code == 200, path
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep" and int(pre_stop[1]) < _pod_spec(web)["terminationGracePeriodSeconds"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    budget = base[("PodDisruptionBudget", "vendbot-web")]
    assert budget["spec"]["selector"]["matchLabels"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert budget["spec"]["minAvailable"] < web["spec"]["replicas"]


def test_pods_run_as_the_images_non_root_user_with_a_read_only_root():
    for key, resource in _base().items():
        if key[0] not in {"Deployment", "Job", "CronJob"}:
            continue
        pod = _pod_spec(resource)
        assert pod["securityContext"]["runAsNonRoot"] is True, key
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, (key, container["name"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, (key, container["name"])
            assert container["resources"]["requests"], (key, container["name"])


def test_workers_autoscale_beat_is_one_recreated_pod_and_migrate_is_a_job():
    base = _base()
    hpa = base[("HorizontalPodAutoscaler", "vendbot-worker")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "vendbot-worker"
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    beat = base[("Deployment", "vendbot-beat")]
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    commands = {
        name: _pod_spec(base[(kind, name)])["containers"][0]["args"]
        for kind, name in [
            ("Deployment", "vendbot-web"),
            ("Deployment", "vendbot-worker"),
            ("Deployment", "vendbot-beat"),
            ("Job", "vendbot-migrate"),
        ]
    }
    assert commands == {
        "vendbot-web": ["web"],
        "vendbot-worker": ["worker"],
        "vendbot-beat": ["beat"],
        "vendbot-migrate": ["migrate"],
    }
    for name in ("vendbot-web", "vendbot-worker", "vendbot-beat"):
        (init,) = _pod_spec(base[("Deployment", name)])["initContainers"]
        assert init["args"] == ["manage", "migrate", "--check"]


def test_the_ingress_sends_ws_to_the_web_service_with_long_timeouts():
    base = _base()
    sockets = base[("Ingress", "vendbot-websockets")]
    (path,) = sockets["spec"]["rules"][0]["http"]["paths"]
    assert path["path"] == "/ws/" and path["backend"]["service"]["name"] == "vendbot-web"
    assert int(sockets["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert ("Service", "vendbot-web") in base


def test_the_secret_example_holds_only_dummy_values():
    (secret,) = _documents(BASE / "secret.example.yaml")
    for key, value in secret["stringData"].items():
        assert value == "" or "dummy" in value, key


def test_the_backup_job_dumps_the_database_nightly_with_pg_dump():
    cronjob = _base()[("CronJob", "vendbot-backup")]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = _pod_spec(cronjob)["containers"]
    script = container["command"][-1]
    assert "pg_dump --format=custom" in script
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "vendbot-secrets", "key": "DATABASE_URL"}


def test_prometheus_scrapes_the_web_pods_with_the_metrics_token():
    base = _base()
    (job,) = yaml.safe_load(base[("ConfigMap", "vendbot-prometheus-scrape")]["data"]["vendbot.yml"])["scrape_configs"]
    assert job["authorization"]["type"] == "Bearer"
    assert job["authorization"]["credentials_file"].endswith("/METRICS_TOKEN")
    keep = job["relabel_configs"][0]
    assert keep["action"] == "keep" and keep["regex"] == "vendbot;web"
    template = base[("Deployment", "vendbot-web")]["spec"]["template"]["metadata"]
    assert template["labels"]["app.kubernetes.io/component"] == "web"
    assert template["annotations"]["prometheus.io/path"] == job["metrics_path"] == "/metrics"
