import re

import pytest

from apps.inventory.models import Sale
from apps.inventory.services import device_token_issue
from tests.agents.fake_anthropic import Reply, text

pytestmark = pytest.mark.browser

IDLE_SECONDS = 3


@pytest.fixture
def short_idle(settings):
    # Set before the live server starts: its process inherits these settings.
    settings.TABLET_IDLE_RESET_SECONDS = IDLE_SECONDS


def test_ask_for_a_drink_buy_it_see_the_receipt_recover_a_dropped_socket_and_reset_when_idle(
    short_idle, shop, asgi_live_server, browser_page
):
    token = device_token_issue(machine=shop)
    page = browser_page
    sockets = []

    def forward(route):
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/tablet/"), forward)

    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={token}")
    page.wait_for_selector("#tablet-status")
    assert page.url == f"{asgi_live_server}/tablet/HQ-1F/"
    page.wait_for_selector("#tablet-status[data-state=live]")
    assert "残り6" in page.locator('.product[data-slot="A2"]').inner_text()

    page.fill("#chat-input", "緑茶をください")
    page.click("#chat-send")
    page.wait_for_selector("#chat-log li.assistant[data-done] .confirm-purchase")
    assert "130円" in page.locator("#chat-log li.assistant").last.inner_text()

    page.click(".confirm-purchase")
    page.click('.pay[data-method="card"]')
    page.wait_for_selector("#receipt[open]")
    assert "緑茶 ※ × 1" in page.locator("#receipt-lines").inner_text()
    assert page.locator("#receipt-total").inner_text() == "合計 130円（税込）"
    assert "8%対象 130円（内消費税 9円）" in page.locator("#receipt-taxes").inner_text()
    assert "※は軽減税率" in page.locator("#receipt-taxes").inner_text()
    sale = Sale.objects.get()
    assert sale.total_yen == 130 and sale.channel == "tablet"
    page.wait_for_selector('.product[data-slot="A2"] .badge:text("残り5")')

    sockets[0].close()
    page.wait_for_selector("#tablet-status[data-state=http]")  # the HTTP fallback carries on meanwhile
    page.wait_for_selector("#tablet-status[data-state=live]")
    assert len(sockets) == 2
    page.click("#receipt-close")
    page.fill("#chat-input", "こんにちは")
    page.click("#chat-send")
    page.wait_for_function("document.querySelectorAll('#chat-log li.assistant[data-done]').length === 2")

    page.wait_for_function("document.getElementById('chat-log').children.length === 0", timeout=IDLE_SECONDS * 3000)
    assert page.locator("#receipt[open], #buy-dialog[open]").count() == 0
    assert page.input_value("#chat-input") == ""


def test_a_models_reply_grows_on_the_tablet_as_it_is_written(
    model_shopkeeper, fake_anthropic, shop, asgi_live_server, browser_page
):
    sentence = "コーラは150円で、今日はよく冷えていておすすめです。"
    fake_anthropic.then(Reply([text(sentence)], chunk_chars=4))
    page = browser_page
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/")
    page.fill("#pair-token", device_token_issue(machine=shop))
    page.click("#pair-form button")
    page.wait_for_selector("#tablet-status[data-state=live]")
    # Every text the assistant's bubble shows, in order.
    page.evaluate(
        """() => {
          window.shown = [];
          new MutationObserver(() => {
            const bubble = document.querySelector("#chat-log li.assistant .text");
            if (bubble && bubble.textContent !== window.shown.at(-1)) window.shown.push(bubble.textContent);
          }).observe(document.getElementById("chat-log"), { subtree: true, childList: true, characterData: true });
        }"""
    )

    page.fill("#chat-input", "おすすめは？")
    page.click("#chat-send")
    page.wait_for_selector("#chat-log li.assistant[data-done]")

    shown = [words for words in page.evaluate("window.shown") if words]
    assert shown[-1] == sentence and all(sentence.startswith(words) for words in shown)
    assert len(shown) > 3  # it grew piece by piece, never showing anything it later took back
