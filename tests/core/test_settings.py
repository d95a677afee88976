"""Settings come from the environment; production refuses to start without its secrets and passes check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "METRICS_TOKEN"}}


def _manage(*args, settings="vendbot.settings.base", **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        # An empty .env path keeps a developer's own .env out of these checks.
        env={**CLEAN_ENV, "DJANGO_SETTINGS_MODULE": settings, "ENV_FILE": os.devnull, **env},
    )


def test_missing_secret_key_with_debug_off_names_the_variable():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "environment variable" in result.stderr


def test_debug_on_starts_without_a_secret_key():
    result = _manage("check", DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--tag",
        "security",
        "--fail-level",
        "WARNING",
        settings="vendbot.settings.production",
        DEBUG="0",
        SECRET_KEY="Hq3v-production-looking-secret-9Zt2Lm8Rp4Xw7Kb1Nd6Yf0Gs5Jc3Ve",  # scan-secrets: ignore
        ALLOWED_HOSTS="shop.example.jp",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
        PAYMENT_PROVIDERS="paypay,stripe",
        METRICS_TOKEN="test-metrics-token",
        **_PROVIDER_KEYS,
    )
    assert result.returncode == 0, result.stdout + result.stderr


_PROVIDER_KEYS = {
    "PAYPAY_API_KEY": "test-paypay-key",
    "PAYPAY_API_SECRET": "test-paypay-value",
    "PAYPAY_MERCHANT_ID": "test-merchant",
    "STRIPE_SECRET_KEY": "test-stripe-key",
    "STRIPE_WEBHOOK_SECRET": "test-stripe-webhook",
}
_PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "shop.example.jp",
    "METRICS_TOKEN": "test-metrics-token",
}


def test_production_refuses_the_simulated_terminal_naming_it():
    result = _manage(
        "check", settings="vendbot.settings.production", **_PRODUCTION, PAYMENT_PROVIDERS="terminal,paypay"
    )
    assert result.returncode != 0
    assert "apps.inventory.integrations.payments.SimulatedTerminal" in result.stderr
    assert "PAYMENTS_ALLOW_SIMULATED" in result.stderr


def test_production_starts_with_the_simulated_terminal_when_allowed():
    result = _manage("check", settings="vendbot.settings.production", **_PRODUCTION, PAYMENTS_ALLOW_SIMULATED="1")
    assert result.returncode == 0, result.stderr


def test_production_starts_with_real_providers_only():
    result = _manage(
        "check",
        settings="vendbot.settings.production",
        **_PRODUCTION,
        **_PROVIDER_KEYS,
        PAYMENT_PROVIDERS="paypay,stripe",
    )
    assert result.returncode == 0, result.stderr


def test_production_refuses_a_provider_without_its_keys_naming_them():
    keys = {**_PROVIDER_KEYS, "PAYPAY_MERCHANT_ID": "", "STRIPE_WEBHOOK_SECRET": ""}
    paypay = _manage("check", settings="vendbot.settings.production", **_PRODUCTION, **keys, PAYMENT_PROVIDERS="paypay")
    stripe = _manage("check", settings="vendbot.settings.production", **_PRODUCTION, **keys, PAYMENT_PROVIDERS="stripe")

    assert paypay.returncode != 0 and "offers paypay but PAYPAY_MERCHANT_ID is not set" in paypay.stderr
    assert stripe.returncode != 0 and "offers stripe but STRIPE_WEBHOOK_SECRET is not set" in stripe.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _manage("check", settings="vendbot.settings.production", DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_production_refuses_to_start_without_a_metrics_token():
    result = _manage(
        "check", settings="vendbot.settings.production", DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="shop.example.jp"
    )
    assert result.returncode != 0
    assert "METRICS_TOKEN is not set" in result.stderr


PROBE_SCRIPT = """
from django.test import Client
client = Client()
for path, headers in [
    ("/healthz", {}),
    ("/metrics", {}),
    ("/metrics", {"HTTP_AUTHORIZATION": "Bearer test-metrics-token"}),
    ("/admin/login/", {}),
]:
    response = client.get(path, HTTP_HOST="10.1.2.3:8000", **headers)
    print(path, response.status_code)
"""


def test_production_answers_probes_and_scrapes_by_pod_ip_over_plain_http(tmp_path):
    """Inside a cluster the kubelet and Prometheus call a pod at its IP over HTTP: health and metrics answer there
    (metrics only with the token), every other page still redirects to HTTPS."""
    result = _manage(
        "shell",
        "-c",
        PROBE_SCRIPT,
        settings="vendbot.settings.production",
        DEBUG="0",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="shop.example.jp,10.1.2.3",
        METRICS_TOKEN="test-metrics-token",
        PAYMENT_PROVIDERS="paypay,stripe",
        **_PROVIDER_KEYS,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PAYMENT_TERMINAL_DB=str(tmp_path / "terminal.sqlite3"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stdout.splitlines() if line.startswith("/")] == [
        "/healthz 200",
        "/metrics 401",
        "/metrics 200",
        "/admin/login/ 301",
    ]


def test_time_zone_and_language_defaults():
    from django.conf import settings

    assert settings.TIME_ZONE == "Asia/Tokyo"
    assert settings.LANGUAGE_CODE == "ja"
    assert [code for code, _ in settings.LANGUAGES] == ["ja", "en"]
