"""The tablet without Redis (its socket does not need it), and without its socket: it carries on over the HTTP chat,
purchase and products APIs and returns to the socket when it opens again; one purchase attempt keeps one
Idempotency-Key through every resend."""

import re

import pytest

from apps.chats.models import Message
from apps.inventory.models import Payment, Sale, Slot
from apps.inventory.services import device_token_issue

pytestmark = pytest.mark.browser


@pytest.fixture
def redis_that_dies(settings, private_redis):
    """The live server's channel layer, cache and shared limits on a Redis this test kills and restarts. Set before the
    server starts: its process inherits these settings."""
    settings.REDIS_URL = private_redis.url
    layer = settings.REDIS_CHANNEL_LAYER
    hosts = [{**layer["CONFIG"]["hosts"][0], "address": private_redis.url}]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": hosts}}}
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": private_redis.url}}
    return private_redis


def api_calls(page):
    """(method, path, Idempotency-Key) of every API request the page makes, in order."""
    calls = []
    page.on(
        "request",
        lambda r: (
            "/api/" in r.url and calls.append((r.method, r.url.split("/api/", 1)[1], r.headers.get("idempotency-key")))
        ),
    )
    return calls


def chat(page, text, answers):
    page.fill("#chat-input", text)
    page.click("#chat-send")
    page.wait_for_function(f"document.querySelectorAll('#chat-log li.assistant[data-done]').length === {answers}")


def stock(slot_code):
    return Slot.objects.get(code=slot_code).quantity


def buy_green_tea_from_the_chat(page):
    page.click("#chat-log li.assistant >> nth=0 >> .confirm-purchase")
    page.click('.pay[data-method="card"]')
    page.wait_for_selector("#receipt[open]")
    assert page.locator("#receipt-total").inner_text() == "合計 130円（税込）"
    sale = Sale.objects.get()
    assert sale.channel == "tablet" and sale.total_yen == 130 and sale.payment.status == Payment.Status.CAPTURED
    assert stock("A2") == 5
    page.wait_for_selector('.product[data-slot="A2"] .badge:text("残り5")')


def test_with_redis_killed_mid_session_the_tablet_keeps_chatting_and_selling(
    redis_that_dies, shop, asgi_live_server, browser_page
):
    page = browser_page
    calls = api_calls(page)
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={device_token_issue(machine=shop)}")
    page.wait_for_selector("#tablet-status[data-state=live]")
    chat(page, "緑茶をください", 1)

    redis_that_dies.kill()
    chat(page, "こんにちは", 2)
    buy_green_tea_from_the_chat(page)

    assert Message.objects.values("conversation").distinct().count() == 1
    assert Message.objects.filter(sender="customer").count() == 2
    assert page.locator("#chat-log li.error").count() == 0
    # Its socket never needed Redis: everything went over it, and it never dropped.
    assert not [call for call in calls if call[0] == "POST"]
    assert page.locator("#tablet-status").get_attribute("data-state") == "live"


def test_without_its_socket_the_tablet_chats_and_sells_over_http_then_returns_to_its_socket(
    shop, asgi_live_server, browser_page
):
    page = browser_page
    sockets, refused = [], []

    def route(socket):
        if refused:
            socket.close(code=1011)  # as a socket accepted and dropped by a server that cannot serve it
        else:
            socket.connect_to_server()
            sockets.append(socket)

    page.route_web_socket(re.compile(r"/ws/tablet/"), route)
    calls = api_calls(page)
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={device_token_issue(machine=shop)}")
    page.wait_for_selector("#tablet-status[data-state=live]")
    chat(page, "緑茶をください", 1)
    assert not [call for call in calls if call[0] == "POST"]

    refused.append(True)
    sockets[-1].close(code=1011)
    page.wait_for_selector("#tablet-status[data-state=http]")
    chat(page, "こんにちは", 2)
    buy_green_tea_from_the_chat(page)

    assert [call[1] for call in calls if call[0] == "POST"] == [
        "machines/HQ-1F/chat/",
        "machines/HQ-1F/tablet-purchases/",
    ]
    # The same conversation went on across the switch: both turns, four messages, one conversation.
    assert Message.objects.values("conversation").distinct().count() == 1
    assert Message.objects.filter(sender="customer").count() == 2
    # Bought over HTTP within the conversation, as over the socket: the assistant knows the sale is theirs.
    sale = Sale.objects.get()
    assert Message.objects.filter(sender="system", data__sale_id=sale.pk).count() == 1
    assert page.locator("#tablet-status").inner_text() == "接続済み"  # the customer saw no error
    assert page.locator("#chat-log li.error").count() == 0

    refused.clear()
    page.wait_for_selector("#tablet-status[data-state=live]", timeout=15_000)
    page.click("#receipt-close")
    chat(page, "ありがとう", 3)
    assert [call[1] for call in calls if call[0] == "POST"] == [
        "machines/HQ-1F/chat/",
        "machines/HQ-1F/tablet-purchases/",
    ]
    assert Message.objects.filter(sender="customer").count() == 3
    assert Message.objects.values("conversation").distinct().count() == 1


def test_a_purchase_whose_answer_was_lost_is_resent_with_its_key_even_after_a_reload_and_charged_once(
    shop, asgi_live_server, browser_page
):
    page = browser_page
    page.route_web_socket(re.compile(r"/ws/tablet/"), lambda socket: socket.close(code=1011))
    calls = api_calls(page)
    lost = []

    def lose_the_first_answer(route):
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)  # the server sold and charged; the tablet never hears of it
        route.abort()

    page.route("**/api/machines/HQ-1F/tablet-purchases/", lose_the_first_answer)
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={device_token_issue(machine=shop)}")
    page.wait_for_selector("#tablet-status[data-state=http]")

    page.click('.product[data-slot="A2"]')
    page.click('.pay[data-method="card"]')
    page.wait_for_function("() => document.getElementById('buy-error').textContent.includes('再試行')")
    page.reload()
    page.wait_for_selector("#receipt[open]")

    assert lost == [201]
    purchases = [call for call in calls if call[1] == "machines/HQ-1F/tablet-purchases/"]
    assert len(purchases) >= 2 and len({key for _, _, key in purchases}) == 1 and purchases[0][2]
    assert Sale.objects.count() == 1 and Payment.objects.count() == 1 and stock("A2") == 5
    assert page.locator("#receipt-total").inner_text() == "合計 130円（税込）"

    page.click("#receipt-close")
    page.click('.product[data-slot="A2"]')
    page.click('.pay[data-method="card"]')
    page.wait_for_selector("#receipt[open]")
    purchases = [call for call in calls if call[1] == "machines/HQ-1F/tablet-purchases/"]
    assert purchases[-1][2] != purchases[0][2]  # a new attempt, a new key
    assert Sale.objects.count() == 2 and Payment.objects.count() == 2 and stock("A2") == 4
