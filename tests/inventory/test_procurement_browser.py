"""The approval desk in a real browser: staff log in, open the pending order and approve it."""

import pytest
from django.contrib.auth.models import Group

from apps.core.models import AuditEntry
from apps.core.roles import STAFF
from apps.inventory.models import PurchaseOrder
from tests.factories import PurchaseOrderFactory, SupplierFactory, UserFactory

pytestmark = pytest.mark.browser


def test_staff_approves_the_pending_order_in_a_real_browser(asgi_live_server, browser_page):
    staff = UserFactory(username="staff", is_staff=True, password="demo-pass-1234")
    staff.groups.add(Group.objects.get(name=STAFF))
    order = PurchaseOrderFactory(
        supplier=SupplierFactory(name="信頼商事", contact_email="order@shinrai.example.invalid"),
        reasoning="緑茶: 納期2日＋10日分に16個不足。",
    )
    page = browser_page
    page.goto(f"{asgi_live_server}/admin/login/?next=/admin/inventory/purchaseorder/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "demo-pass-1234")
    page.click("input[type=submit]")

    assert "承認待ち 1件" in page.locator("h1").inner_text()
    page.click(f"text={order}")
    assert "16個不足" in page.locator("#approval-desk").inner_text()
    page.click("button[value=approve]")

    assert "order@shinrai.example.invalid に発注しました" in page.locator(".messagelist").inner_text()
    order.refresh_from_db()
    assert (order.status, order.approved_by) == (PurchaseOrder.Status.ORDERED, staff)
    assert AuditEntry.objects.filter(object_id=str(order.pk), to_state="ordered", actor=staff).exists()
