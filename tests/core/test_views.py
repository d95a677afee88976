import pytest


def test_healthz_answers_without_touching_the_database(client):
    # No django_db mark: any database access here would raise instead of answering.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_admin_is_branded_and_asks_for_login(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "VendBot 管理" in response.content.decode()


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served_without_internet(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "cdn" not in page.lower() and "//unpkg" not in page


@pytest.mark.django_db
def test_metrics_are_exposed_for_prometheus_with_its_token(client, metrics_page):
    client.get("/healthz")
    assert "django_http_requests_total_by_method_total" in metrics_page()


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "test-metrics-token", "Basic dGVzdA=="])
def test_without_debug_metrics_need_the_bearer_token(client, settings, authorization):
    settings.METRICS_TOKEN = "test-metrics-token"
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"
    assert "vendbot_" not in response.content.decode()


@pytest.mark.django_db
def test_without_debug_or_a_token_configured_there_are_no_metrics(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_under_debug_metrics_are_open(client, settings):
    settings.DEBUG, settings.METRICS_TOKEN = True, ""

    response = client.get("/metrics")

    assert response.status_code == 200 and "django_http_requests_total_by_method_total" in response.content.decode()
