"""A LINE customer types their member code on the tablet in chromium: the assistant welcomes them with their usual,
the header shows they are known, a wrong code is said plainly, and the idle reset forgets them for the next person."""

import pytest

from apps.chats.services import customer_consent_set, customer_for_line_user, member_code_issue
from apps.inventory.services import device_token_issue
from tests.chats.test_recommendations import history

pytestmark = pytest.mark.browser


@pytest.fixture
def quick_reset(settings):
    """Set before the live server forks."""
    settings.TABLET_IDLE_RESET_SECONDS = 3


def test_a_member_code_typed_on_the_tablet_is_welcomed_and_forgotten_at_the_reset(
    quick_reset, shop, tea, shopkeeper, asgi_live_server, browser_page
):
    customer = customer_consent_set(customer=customer_for_line_user(line_user_id="U" + "7" * 32), given=True)
    history(customer)
    code, _expires = member_code_issue(customer=customer)
    page = browser_page
    page.goto(f"{asgi_live_server}/tablet/HQ-1F/#pair={device_token_issue(machine=shop)}")
    page.wait_for_selector("#tablet-status[data-state=live]")

    page.click("#member-open")
    page.fill("#member-code", "000000" if code != "000000" else "111111")
    page.click("#member-submit")
    page.wait_for_selector("#member-error:has-text('会員コードが正しくないか')")
    page.fill("#member-code", code)
    page.click("#member-submit")
    page.wait_for_selector("li.assistant:has-text('いつもの緑茶があります')")

    assert "member" in page.evaluate("document.body.className")
    assert not page.locator("#member-dialog").evaluate("d => d.open")
    page.wait_for_function("!document.body.classList.contains('member')", timeout=10000)
    assert page.locator("li.assistant:has-text('いつもの緑茶')").count() == 0
