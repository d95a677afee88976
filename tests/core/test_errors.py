"""Every 4xx from the API has the shape {"error": {"code", "message", "details"}}; bad input never yields a 500."""

import pytest
from django.urls import path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import errors


class EchoApi(APIView):
    """A throwaway API in this test's URLconf: validates input, and raises the error named in the query string."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class InputSerializer(serializers.Serializer):
        quantity = serializers.IntegerField(min_value=1, max_value=5)
        note = serializers.CharField(max_length=10, required=False)

    def post(self, request):
        raise_name = request.query_params.get("raise")
        if raise_name:
            raise getattr(errors, raise_name)("何かが起きました", details={"slot": "A1"})
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data, status=201)


class SecretApi(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("api/echo/", EchoApi.as_view()), path("api/secret/", SecretApi.as_view())]

pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


def _assert_error_shape(body, code):
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


@pytest.mark.parametrize(
    ("name", "status", "code"),
    [
        ("ValidationError", 400, "invalid"),
        ("AuthenticationRequired", 401, "not_authenticated"),
        ("PaymentDeclined", 402, "payment_declined"),
        ("PermissionDenied", 403, "permission_denied"),
        ("NotFound", 404, "not_found"),
        ("Conflict", 409, "conflict"),
        ("RateLimited", 429, "rate_limited"),
    ],
)
def test_application_errors_map_to_their_status_and_shape(client, name, status, code):
    response = client.post(f"/api/echo/?raise={name}", {"quantity": 1}, content_type="application/json")
    assert response.status_code == status
    body = response.json()
    _assert_error_shape(body, code)
    assert body["error"]["message"] == "何かが起きました"
    assert body["error"]["details"] == {"slot": "A1"}


def test_field_errors_name_the_field(client):
    response = client.post("/api/echo/", {"quantity": 9}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    _assert_error_shape(body, "invalid")
    assert body["error"]["message"].startswith("quantity:")
    assert "quantity" in body["error"]["details"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"quantity": ',
        "not json at all",
        '["a list"]',
        '{"quantity": "lots"}',
        "{}",
        '{"quantity": 1, "note": "' + "x" * 50 + '"}',
    ],
)
def test_malformed_bodies_get_a_clear_400_never_a_500(client, raw):
    response = client.post("/api/echo/", raw, content_type="application/json")
    assert response.status_code == 400
    _assert_error_shape(response.json(), response.json()["error"]["code"])


def test_wrong_method_and_anonymous_access_use_the_same_shape(client):
    wrong_method = client.get("/api/echo/")
    assert wrong_method.status_code == 405
    _assert_error_shape(wrong_method.json(), "method_not_allowed")
    anonymous = client.get("/api/secret/")
    assert anonymous.status_code == 403
    _assert_error_shape(anonymous.json(), "not_authenticated")
