import pytest

from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.core.models import AuditEntry
from apps.inventory.models import StockMovement
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import sale_refund


@pytest.fixture
def sale(sell, tea_slot):
    return sell(key="sale-1", quantity=2).sale


@pytest.mark.django_db
class TestRefund:
    def test_manager_refunds_in_full_and_goods_return_to_the_back_room(self, sale, manager_user, tea_slot):
        storage_before = tea_slot.product.storage.quantity

        refunded = sale_refund(sale=sale, reason="商品破損", return_to_storage=True, actor=manager_user)

        assert refunded.status == "refunded"
        assert refunded.refunded_yen == 300
        assert refunded.payment.status == "refunded"
        assert refunded.payment.refunded_yen == 300
        tea_slot.product.storage.refresh_from_db()
        assert tea_slot.product.storage.quantity == storage_before + 2
        assert (
            StockMovement.objects.filter(kind="refund_return", sale=sale, location="storage").get().quantity_delta == 2
        )
        assert AuditEntry.objects.filter(action="sale.refund", actor=manager_user).exists()
        assert stock_integrity_problems() == []

    def test_refund_without_return_leaves_stock_alone(self, sale, manager_user, tea_slot):
        sale_refund(sale=sale, reason="味が違った", actor=manager_user)

        assert not StockMovement.objects.filter(kind="refund_return").exists()

    def test_second_refund_is_refused(self, sale, manager_user):
        sale_refund(sale=sale, reason="商品破損", actor=manager_user)

        with pytest.raises(Conflict):
            sale_refund(sale=sale, reason="商品破損", actor=manager_user)

    def test_reason_is_required(self, sale, manager_user):
        with pytest.raises(ValidationError):
            sale_refund(sale=sale, reason="  ", actor=manager_user)

    def test_staff_may_not_refund(self, sale, staff_user):
        with pytest.raises(PermissionDenied):
            sale_refund(sale=sale, reason="商品破損", actor=staff_user)
        sale.refresh_from_db()
        assert sale.status == "completed"

    def test_after_a_partial_jam_the_refund_covers_only_what_was_still_paid(
        self, sell, tea_slot, manager_user, settings
    ):
        settings.DISPENSER = "tests.inventory.fakes.FirstItemOnlyDispenser"
        jammed = sell(key="jam", quantity=2).sale
        assert (jammed.status, jammed.refunded_yen) == ("partially_refunded", 150)
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2  # the jammed one is still in the machine
        storage_before = tea_slot.product.storage.quantity

        refunded = sale_refund(sale=jammed, reason="お客様都合", return_to_storage=True, actor=manager_user)

        assert (refunded.status, refunded.refunded_yen) == ("refunded", 300)
        assert refunded.payment.refunded_yen == 300
        tea_slot.product.storage.refresh_from_db()
        assert tea_slot.product.storage.quantity == storage_before + 1
        assert stock_integrity_problems() == []
