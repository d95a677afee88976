import pytest
from django.contrib import admin
from django.urls import reverse

from apps.inventory.models import PriceChange, Sale, StockMovement


@pytest.fixture
def sale(sell, tea_slot):
    return sell(key="admin-sale", method="cash").sale


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
