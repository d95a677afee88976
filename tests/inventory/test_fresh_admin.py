"""The admin pages for lots and stocktakes, as staff and a Manager use them."""

import datetime

import pytest
from django.utils import timezone

from apps.inventory.models import StockLot, StockMovement, Stocktake
from apps.inventory.services import stock_receive

TODAY = timezone.localdate()


@pytest.mark.django_db
class TestLotsPage:
    def test_the_title_counts_lots_expiring_by_tomorrow_and_a_manager_applies_the_markdown(
        self, client, tea_slot, manager_user
    ):
        stock_receive(
            product=tea_slot.product, quantity=2, unit_cost_yen=70, expires_on=TODAY + datetime.timedelta(days=1)
        )
        client.force_login(manager_user)

        page = client.get("/admin/inventory/stocklot/?expiry=soon")
        assert "期限間近 1件" in page.content.decode()
        assert "¥150 → ¥120（20%引き）" in page.content.decode()

        lot = StockLot.objects.get(expires_on__isnull=False)
        client.post("/admin/inventory/stocklot/", {"action": "apply_markdown", "_selected_action": [lot.pk]})
        tea_slot.product.refresh_from_db()
        assert tea_slot.product.price_yen == 120


@pytest.mark.django_db
class TestStocktakePages:
    def test_staff_count_on_the_count_page_and_a_manager_approves(
        self, client, machine, tea_slot, staff_user, manager_user
    ):
        client.force_login(staff_user)
        started = client.post("/admin/inventory/stocktake/add/", {"machine": machine.pk, "note": "月末"})
        stocktake = Stocktake.objects.get()
        assert started["Location"] == f"/admin/inventory/stocktake/{stocktake.pk}/count/"
        line = stocktake.lines.get()

        page = client.get(started["Location"])
        assert 'inputmode="numeric"' in page.content.decode()
        client.post(started["Location"], {f"count_{line.pk}": "2", f"reason_{line.pk}": ""})
        page = client.get(started["Location"])
        assert "-1" in page.content.decode()
        client.post(started["Location"], {f"count_{line.pk}": "2", f"reason_{line.pk}": "破損"})

        refused = client.post(
            "/admin/inventory/stocktake/", {"action": "approve", "_selected_action": [stocktake.pk]}, follow=True
        )
        assert Stocktake.objects.get().status == Stocktake.Status.COUNTING  # staff may not approve
        assert refused.status_code == 200

        client.force_login(manager_user)
        client.post("/admin/inventory/stocktake/", {"action": "approve", "_selected_action": [stocktake.pk]})
        assert Stocktake.objects.get().status == Stocktake.Status.APPROVED
        (adjustment,) = StockMovement.objects.filter(kind=StockMovement.Kind.ADJUSTMENT)
        assert adjustment.quantity_delta == -1 and "破損" in adjustment.reason
