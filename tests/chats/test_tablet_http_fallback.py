"""The paired tablet page may call its machine's HTTP APIs (its fallback when the socket cannot open) with its pairing
cookie and the page's CSRF token, and nothing else may."""

import json
import re

import pytest
from django.test import Client

from apps.inventory.models import Sale
from apps.inventory.services import device_token_issue
from apps.inventory.tablet_pairing import PAIRING_COOKIE, pairing_cookie_value
from tests.factories import MachineFactory


@pytest.fixture
def tablet(shop):
    """A browser paired with HQ-1F that enforces CSRF like a real one, and the CSRF token its page was given."""
    device_token_issue(machine=shop)
    client = Client(enforce_csrf_checks=True)
    client.cookies[PAIRING_COOKIE] = pairing_cookie_value(shop)
    page = client.get("/tablet/HQ-1F/")
    assert page.status_code == 200
    client.csrf_token = re.search(r'data-csrf="([^"]+)"', page.content.decode()).group(1)
    return client


def post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


PURCHASE = {"items": [{"slot": "A2", "quantity": 1}], "coupon": "", "payment_method": "card"}


def test_the_paired_page_buys_chats_and_lists_products_over_http(tablet):
    token = {"HTTP_X_CSRFTOKEN": tablet.csrf_token}

    bought = post(tablet, "/api/machines/HQ-1F/purchases/", PURCHASE, HTTP_IDEMPOTENCY_KEY="k-1", **token)
    answered = post(tablet, "/api/machines/HQ-1F/chat/", {"conversation": None, "message": "こんにちは"}, **token)
    listed = tablet.get("/api/machines/HQ-1F/products/")

    assert bought.status_code == 201, bought.json()
    assert Sale.objects.get().channel == Sale.Channel.TABLET
    assert answered.status_code == 200 and answered.json()["reply"]
    assert {row["slot"]: row["quantity"] for row in listed.json()}["A2"] == 5


def test_without_the_pages_csrf_token_the_cookie_buys_nothing(tablet):
    response = post(tablet, "/api/machines/HQ-1F/purchases/", PURCHASE, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 403 and "CSRF" in response.json()["error"]["message"]
    assert not Sale.objects.exists()


def test_a_cookie_paired_with_another_machine_or_an_old_token_opens_nothing(tablet, shop):
    other = MachineFactory(code="HQ-2F")
    device_token_issue(machine=other)
    tablet.cookies[PAIRING_COOKIE] = pairing_cookie_value(other)
    token = {"HTTP_X_CSRFTOKEN": tablet.csrf_token, "HTTP_IDEMPOTENCY_KEY": "k-1"}

    assert post(tablet, "/api/machines/HQ-1F/purchases/", PURCHASE, **token).status_code == 403
    tablet.cookies[PAIRING_COOKIE] = pairing_cookie_value(shop)
    device_token_issue(machine=shop)  # a new token unpairs every tablet of the machine
    assert post(tablet, "/api/machines/HQ-1F/purchases/", PURCHASE, **token).status_code == 401
    assert not Sale.objects.exists()
