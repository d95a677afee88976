import re

import pytest
from django.contrib import admin
from django.urls import reverse

from apps.core.errors import PaymentDeclined
from apps.inventory.models import Coupon, PaymentRefund, PriceChange, Sale, StockMovement


@pytest.fixture
def sale(sell, tea_slot):
    return sell(key="admin-sale", method="cash").sale


def post_change_form(client, url: str, fields: dict):
    """POST an admin change form as a browser would: its hidden inputs (inline management forms, ids) plus `fields`."""
    page = client.get(url).content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    hidden.pop("csrfmiddlewaretoken", None)
    return client.post(url, {**hidden, **fields})


@pytest.mark.django_db
class TestInventoryAdmin:
    @pytest.mark.parametrize(
        "model",
        [m for m in admin.site._registry if m._meta.app_label == "inventory"],
        ids=lambda m: m._meta.model_name,
    )
    def test_every_list_and_add_page_opens_for_a_manager(self, client, manager_user, sale, model):
        client.force_login(manager_user)
        name = f"admin:inventory_{model._meta.model_name}"

        assert client.get(reverse(f"{name}_changelist")).status_code == 200
        assert client.get(reverse(f"{name}_add")).status_code in (200, 403)

    def test_staff_records_waste_with_the_add_form(self, client, staff_user, tea_slot):
        client.force_login(staff_user)

        response = client.post(
            reverse("admin:inventory_stockmovement_add"),
            {"slot": tea_slot.pk, "product": "", "quantity_delta": -1, "is_waste": "on", "reason": "落下で破損"},
        )

        assert response.status_code == 302
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2
        assert StockMovement.objects.filter(kind="waste", actor=staff_user).exists()

    def test_refused_adjustment_shows_the_reason_on_the_form(self, client, staff_user, tea_slot):
        client.force_login(staff_user)

        response = client.post(
            reverse("admin:inventory_stockmovement_add"),
            {"slot": tea_slot.pk, "product": "", "quantity_delta": -10, "reason": "棚卸"},
        )

        assert response.status_code == 200
        assert "在庫は3個しかありません" in response.content.decode()

    def test_price_guard_refusal_is_shown_and_nothing_changes(self, client, manager_user, tea_slot):
        client.force_login(manager_user)

        response = client.post(
            reverse("admin:inventory_pricechange_add"),
            {"product": tea_slot.product.pk, "new_price_yen": 60, "reason": ""},
        )

        assert response.status_code == 200
        assert "1.1倍" in response.content.decode()
        assert not PriceChange.objects.exists()

    def test_manager_refunds_with_a_reason(self, client, manager_user, sale):
        client.force_login(manager_user)
        changelist = reverse("admin:inventory_sale_changelist")

        ask = client.post(changelist, {"action": "refund", "_selected_action": [sale.pk]})
        done = client.post(changelist, {"action": "refund", "_selected_action": [sale.pk], "apply": "1",
                                        "reason": "お客様の申し出"})  # fmt: skip

        assert ask.status_code == 200
        assert "理由" in ask.content.decode()
        assert done.status_code == 302
        assert Sale.objects.get().status == "refunded"

    def test_a_declined_attempt_is_listed_and_cannot_be_refunded(self, client, manager_user, sell, tea_slot, settings):
        settings.PAYMENT_DECLINE_RATE = 1.0
        with pytest.raises(PaymentDeclined):
            sell(key="declined-attempt")
        attempt = Sale.attempts.get()
        client.force_login(manager_user)
        changelist = reverse("admin:inventory_sale_changelist")

        listed = client.get(changelist, {"status__exact": "failed"})
        page = client.get(reverse("admin:inventory_sale_change", args=[attempt.pk]))
        refused = client.post(changelist, {"action": "refund", "_selected_action": [attempt.pk], "apply": "1",
                                           "reason": "お客様の申し出"}, follow=True)  # fmt: skip

        assert listed.status_code == 200 and "不成立" in listed.content.decode()
        assert page.status_code == 200
        assert refused.status_code == 200 and "成立していないため返金できません" in refused.content.decode()
        assert Sale.attempts.get().status == "failed" and not PaymentRefund.objects.exists()

    def test_manager_edits_a_machine_and_a_slot(self, client, manager_user, tea_slot):
        client.force_login(manager_user)

        machine_page = post_change_form(
            client,
            reverse("admin:inventory_machine_change", args=[tea_slot.machine.pk]),
            {"name": "本社1F 休憩室", "location": "1階", "status": "maintenance"},
        )
        slot_page = post_change_form(
            client,
            reverse("admin:inventory_slot_change", args=[tea_slot.pk]),
            {"product": tea_slot.product.pk, "capacity": 12, "par_level": 4},
        )

        assert (machine_page.status_code, slot_page.status_code) == (302, 302)
        tea_slot.refresh_from_db()
        tea_slot.machine.refresh_from_db()
        assert (tea_slot.machine.name, tea_slot.machine.status) == ("本社1F 休憩室", "maintenance")
        assert (tea_slot.capacity, tea_slot.par_level, tea_slot.quantity) == (12, 4, 3)

    def test_slot_with_stock_keeps_its_product(self, client, manager_user, tea_slot, mask_slot):
        client.force_login(manager_user)

        response = post_change_form(
            client,
            reverse("admin:inventory_slot_change", args=[tea_slot.pk]),
            {"product": mask_slot.product.pk, "capacity": 10, "par_level": 5},
        )

        assert response.status_code == 200
        assert "商品を変更できません" in response.content.decode()
        tea_slot.refresh_from_db()
        assert tea_slot.product.sku == "D001"

    def test_manager_issues_a_coupon_with_a_generated_code(self, client, manager_user):
        client.force_login(manager_user)

        response = client.post(
            reverse("admin:inventory_coupon_add"),
            {"code": "", "kind": "percent", "value": 10, "valid_days": 7, "max_uses": 100, "note": "新年"},
        )

        assert response.status_code == 302
        coupon = Coupon.objects.get()
        assert coupon.code.startswith("VB-")
        assert coupon.issued_by == manager_user
