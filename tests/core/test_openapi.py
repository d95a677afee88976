import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_openapi_schema_is_valid_and_generates_without_warnings():
    """Every API documents its input, output and authentication: drf-spectacular warns about none of them."""
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "vendbot.settings.test", "HOME": "/tmp"},
    )
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers_with_the_error_body(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        (method.upper(), path): operation["responses"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }
    assert len(operations) >= 15
    for responses in operations.values():
        errors = [status for status in responses if status.startswith("4")]
        assert errors, responses
        for status in errors:
            assert responses[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            assert responses[status]["description"]

    purchases = operations[("POST", "/api/machines/{code}/purchases/")]
    assert {"400", "401", "402", "403", "404", "409", "413", "503"} <= set(purchases)
    assert purchases["503"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert {"400", "401", "403", "404", "413"} <= set(operations[("POST", "/api/machines/{code}/chat/")])
    assert {"400", "403"} <= set(operations[("GET", "/api/accounting/trial-balance/")])
    assert "401" not in operations[("GET", "/api/accounting/trial-balance/")]  # session only: DRF answers 403
    error = schema["components"]["schemas"]["ErrorBody"]
    assert set(error["required"]) == {"code", "message", "details"}
