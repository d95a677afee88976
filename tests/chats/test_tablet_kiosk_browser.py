"""The tablet as a kiosk: at a landscape and a portrait tablet size the page never scrolls, the chat input and the
latest message stay on screen however long the chat and the catalogue, touch targets are finger-sized, cards show
the product's picture (or a tidy placeholder), the shopkeeper greets, and a purchase ends on a receipt that resets
the screen by itself. Its screenshots are the README's (`make screenshots` renews them)."""

import io

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from apps.inventory.models import Sale
from apps.inventory.services import device_token_issue
from tests.factories import ProductFactory, SlotFactory, stock_slot

pytestmark = pytest.mark.browser

RECEIPT_SECONDS = 2
MIN_TOUCH_PX = 44
GREETING = "いらっしゃいませ！何かお探しですか？"  # the shopkeeper persona's (tests/factories.PersonaFactory)


@pytest.fixture
def picture():
    png = io.BytesIO()
    Image.new("RGB", (160, 160), (60, 140, 90)).save(png, format="PNG")
    return png.getvalue()


@pytest.fixture
def kiosk(settings, picture, shop, tea):
    """The shop with a full catalogue (a picture for 緑茶, none for the others) and a short receipt, set before the
    live server starts so its process inherits them."""
    settings.TABLET_RECEIPT_RESET_SECONDS = RECEIPT_SECONDS
    tea.image.save("tea.png", ContentFile(picture))
    for n in range(14):
        product = ProductFactory(sku=f"K{n:02d}", name_ja=f"おにぎり{n + 1}号", price_yen=160)
        stock_slot(SlotFactory(machine=shop, code=f"{'BCDE'[n // 4]}{n % 4 + 1}", product=product, capacity=8), 4)
    return shop


def serve_picture(page, picture):
    """The product picture the page asks for (tests keep media in memory; daphne serves only static files)."""
    page.route("**/media/products/tea*.png", lambda route: route.fulfill(body=picture, content_type="image/png"))


def boxes_outside(page, selector):
    """The elements of `selector` whose box is not wholly inside the viewport and their scroll pane."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) => {
          const box = el.getBoundingClientRect();
          const pane = document.getElementById("chat-scroll").getBoundingClientRect();
          const inPane = !pane.height || !el.closest("#chat-scroll") || (box.top >= pane.top && box.bottom <= pane.bottom);
          return !(box.top >= 0 && box.left >= 0 && box.bottom <= innerHeight && box.right <= innerWidth && inPane);
        }).map((el) => el.id || el.className)""",
        selector,
    )


def small_touch_targets(page):
    return page.evaluate(
        """(min) => [...document.querySelectorAll("button, input, a")].filter((el) => {
          const box = el.getBoundingClientRect();
          return box.width && box.height && (box.width < min || box.height < min);
        }).map((el) => `${el.id || el.className || el.tagName} ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`)""",
        MIN_TOUCH_PX,
    )


def page_scroll(page):
    return page.evaluate(
        "({top: document.scrollingElement.scrollTop, height: document.scrollingElement.scrollHeight, view: innerHeight})"
    )


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (768, 1024)])
def test_the_input_and_latest_message_stay_on_screen_and_a_receipt_resets_the_kiosk(
    width, height, kiosk, picture, asgi_live_server, browser_page, screenshots_dir
):
    page = browser_page
    page.set_viewport_size({"width": width, "height": height})
    serve_picture(page, picture)
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={device_token_issue(machine=kiosk)}")
    page.wait_for_selector("#tablet-status[data-state=live]")

    assert page.locator("#greeting").inner_text() == GREETING
    tea_picture = page.locator('.product[data-slot="A2"] img.picture')
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 160", arg=tea_picture.element_handle())
    assert page.locator('.product[data-slot="A1"] .placeholder').inner_text() == "コ"

    for n in range(8):
        page.fill("#chat-input", "緑茶をください" if n % 2 else "こんにちは")
        page.click("#chat-send")
        page.wait_for_function(f"document.querySelectorAll('#chat-log li.assistant[data-done]').length === {n + 1}")
    assert page.evaluate("(p => p.scrollHeight > p.clientHeight)(document.getElementById('chat-scroll'))")
    assert page.evaluate("(p => p.scrollHeight > p.clientHeight)(document.getElementById('products'))")

    assert boxes_outside(page, "#chat-input, #chat-send, #chat-log > li:last-child") == []
    scroll = page_scroll(page)
    assert scroll["top"] == 0 and scroll["height"] <= scroll["view"], scroll
    assert small_touch_targets(page) == []
    page.screenshot(path=str(screenshots_dir / f"tablet-{width}x{height}.png"))

    page.locator("#chat-log li.assistant .confirm-purchase").last.click()
    assert small_touch_targets(page) == []
    page.click('.pay[data-method="card"]')
    page.wait_for_selector("#receipt[open]")
    assert "緑茶 ※ × 1" in page.locator("#receipt-lines").inner_text()
    assert page.locator("#receipt-countdown").inner_text() == f"あと{RECEIPT_SECONDS}秒で最初の画面に戻ります。"
    assert Sale.objects.get().total_yen == 130
    assert small_touch_targets(page) == []

    page.wait_for_selector("#receipt", state="hidden", timeout=(RECEIPT_SECONDS + 3) * 1000)
    assert page.locator("#chat-log li").count() == 0
    assert page.locator("#greeting").is_visible()
    assert page_scroll(page)["top"] == 0
