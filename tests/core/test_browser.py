import pytest
from django.contrib.auth.models import Group

from apps.core.roles import STAFF
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_staff_logs_into_the_branded_admin_in_a_real_browser(asgi_live_server, browser_page):
    user = UserFactory(username="staff", is_staff=True, password="demo-pass-1234")
    user.groups.add(Group.objects.get(name=STAFF))
    page = browser_page
    page.goto(f"{asgi_live_server}/admin/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "demo-pass-1234")
    page.click("input[type=submit]")
    page.wait_for_url(f"{asgi_live_server}/admin/")
    assert "VendBot 管理" in page.title()
    assert page.locator("#site-name").inner_text() == "VendBot 管理"
