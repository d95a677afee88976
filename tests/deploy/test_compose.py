"""compose.yaml: `docker compose config` accepts it where the Compose plugin is installed; everywhere, it validates
against the Compose Specification's JSON schema (kept in deploy/schema/) and wires the services as docs/deploy.md
says: one image, a one-shot migrate the app waits for, healthy PostgreSQL and Redis on volumes, MinIO under a profile."""

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "deploy" / "schema" / "compose-spec.json").read_text(encoding="utf-8"))
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
APP_SERVICES = ("migrate", "web", "worker", "beat")
REQUIRED_ENV = {"SECRET_KEY": "dummy-secret", "METRICS_TOKEN": "dummy-metrics", "POSTGRES_PASSWORD": "dummy-pg"}


def _schema_errors(document) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def _has_compose_plugin() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def test_compose_file_validates_against_the_compose_specification():
    assert _schema_errors(COMPOSE) == []


def test_the_schema_rejects_a_broken_compose_file():
    """The validation above bites: a misspelt dependency condition and an unknown service key are caught."""
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_done"
    broken["services"]["worker"]["replica"] = 2
    errors = _schema_errors(broken)
    assert any(error.startswith("services/web/depends_on:") for error in errors), errors
    assert any(error.startswith("services/worker:") and "'replica'" in error for error in errors), errors


@pytest.mark.skipif(not _has_compose_plugin(), reason="no docker compose plugin here: the schema test stands in")
def test_docker_compose_config_accepts_it():
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        env={**os.environ, **REQUIRED_ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_web_worker_beat_and_migrate_run_one_image_with_the_command_deciding():
    services = COMPOSE["services"]
    assert {services[name]["image"] for name in APP_SERVICES} == {"${VENDBOT_IMAGE:-vendbot:local}"}
    assert all(services[name]["build"] == "." for name in APP_SERVICES)
    entrypoint = (ROOT / "deploy" / "entrypoint.sh").read_text(encoding="utf-8")
    for name in APP_SERVICES:
        (command,) = services[name]["command"]
        assert command == name
        assert re.search(rf"^\s+{command}\)$", entrypoint, re.MULTILINE), f"entrypoint.sh has no `{command}` branch"


def test_the_app_waits_for_migrate_and_healthy_postgres_and_redis():
    services = COMPOSE["services"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    assert "migrate" not in services["migrate"]["depends_on"]
    for name, depends in ((name, s.get("depends_on", {})) for name, s in services.items()):
        assert set(depends) <= set(services), f"{name} depends on a service that does not exist"


def test_postgres_and_redis_have_health_checks_and_named_volumes():
    services = COMPOSE["services"]
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
        volumes = [volume.split(":")[0] for volume in services[name]["volumes"]]
        assert volumes and all(volume in COMPOSE["volumes"] for volume in volumes)


def test_minio_is_optional_behind_a_profile():
    services = COMPOSE["services"]
    assert services["minio"]["profiles"] == ["s3"] and services["minio-bucket"]["profiles"] == ["s3"]
    assert services["web"]["depends_on"]["minio-bucket"]["required"] is False
    assert not any("profiles" in services[name] for name in (*APP_SERVICES, "postgres", "redis"))


def test_no_secret_is_written_in_the_compose_file():
    """Every secret-looking variable is interpolated from the environment or .env, never a literal."""
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|TOKEN|PASSWORD|API_KEY", key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", str(value)), f"{name}.{key} = {value!r}"


def test_production_settings_get_what_they_require():
    """vendbot.settings.production refuses to start without these: every app service is given each of them."""
    for name in APP_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        assert environment["DJANGO_SETTINGS_MODULE"] == "vendbot.settings.production"
        assert environment["DEBUG"] == "0"
        for key in ("SECRET_KEY", "METRICS_TOKEN", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
            assert environment.get(key), f"{name} has no {key}"
