"""Lots with dates: receiving records them, refills and sales take the earliest-expiring first, expired stock is
never sold and is written off as waste with its cost in the books; markdowns stay inside the price policy."""

import datetime
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounting import chart
from apps.core.errors import Conflict, PermissionDenied, ValidationError
from apps.inventory.models import StockLot, StockMovement, StorageStock
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import purchase_create, sale_refund, stock_receive, stock_transfer_to_slot
from apps.inventory.services.expiry import expired_stock_write_off, markdown_apply, markdown_propose
from tests.factories import ProductFactory, SlotFactory, SupplierFactory
from tests.inventory.test_books import balance, books_stock_value

TODAY = timezone.localdate()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def onigiri_slot(machine):
    """B1: onigiri (¥160, cost ¥80), use-by dated; nothing received yet."""
    onigiri = ProductFactory(sku="F001", name_ja="鮭おにぎり", category="food", price_yen=160, unit_cost_yen=80)
    return SlotFactory(machine=machine, code="B1", product=onigiri, capacity=10)


def receive(slot, quantity, expires_on, *, kind=StockLot.DateKind.USE_BY, supplier=None):
    stock_receive(
        product=slot.product,
        quantity=quantity,
        unit_cost_yen=80,
        expires_on=expires_on,
        date_kind=kind,
        supplier=supplier,
    )


def buy(machine, slot, quantity=1):
    return purchase_create(
        machine=machine,
        items=[{"slot": slot.code, "quantity": quantity}],
        coupon_code=None,
        payment_method="cash",
        idempotency_key=uuid.uuid4().hex,
        channel="tablet",
    ).sale


def slot_lots(slot):
    return [(lot.expires_on, lot.quantity) for lot in StockLot.objects.filter(slot=slot) if lot.quantity]


@pytest.mark.django_db
class TestFirstExpiringFirstOut:
    def test_a_receipt_records_its_lot_with_date_supplier_and_cost(self, onigiri_slot):
        supplier = SupplierFactory(name="丸山食品")
        receive(onigiri_slot, 6, days(2), supplier=supplier)

        (lot,) = StockLot.objects.filter(product=onigiri_slot.product)
        assert (lot.slot, lot.quantity, lot.expires_on, lot.date_kind) == (None, 6, days(2), "use_by")
        assert (lot.supplier, lot.unit_cost_yen) == (supplier, 80)

    def test_a_refill_takes_the_earliest_expiring_lot_first_whatever_arrived_first(self, onigiri_slot):
        receive(onigiri_slot, 4, days(3))  # arrived first, keeps longer
        receive(onigiri_slot, 3, days(1))

        stock_transfer_to_slot(slot=onigiri_slot, quantity=5)

        assert slot_lots(onigiri_slot) == [(days(1), 3), (days(3), 2)]
        back_room = StockLot.objects.filter(slot=None, product=onigiri_slot.product, quantity__gt=0)
        assert [(lot.expires_on, lot.quantity) for lot in back_room] == [(days(3), 2)]
        assert stock_integrity_problems() == []

    def test_a_sale_takes_the_earliest_expiring_units_and_a_refund_back_to_the_shelf_returns_them(
        self, machine, onigiri_slot
    ):
        receive(onigiri_slot, 2, days(1))
        receive(onigiri_slot, 2, days(2))
        stock_transfer_to_slot(slot=onigiri_slot, quantity=4)

        sale = buy(machine, onigiri_slot, 3)
        assert slot_lots(onigiri_slot) == [(days(2), 1)]

        sale_refund(sale=sale, reason="誤購入", return_to_storage=True)
        back_room = StockLot.objects.filter(slot=None, product=onigiri_slot.product, quantity__gt=0)
        assert sorted((lot.expires_on, lot.quantity) for lot in back_room) == [(days(1), 2), (days(2), 1)]
        assert stock_integrity_problems() == []

    def test_check_stock_names_a_place_whose_lots_do_not_add_up(self, onigiri_slot, capsys):
        receive(onigiri_slot, 2, days(1))
        StockLot.objects.filter(product=onigiri_slot.product).update(quantity=1)  # a hand edit, not the app

        with pytest.raises(Exception, match="differ"):
            call_command("check_stock")
        assert "storage/F001: recorded 2, lots add up to 1" in capsys.readouterr().err


@pytest.mark.django_db
class TestExpiry:
    def test_expired_units_are_not_sold_even_before_the_write_off(self, machine, onigiri_slot):
        receive(onigiri_slot, 2, days(0))
        stock_transfer_to_slot(slot=onigiri_slot, quantity=2)
        StockLot.objects.filter(product=onigiri_slot.product).update(expires_on=days(-1))  # midnight passed

        with pytest.raises(Conflict) as refused:
            buy(machine, onigiri_slot)
        assert refused.value.code == "sold_out"
        assert refused.value.details["available"] == 0

    def test_a_sale_skips_the_expired_lot_and_sells_the_fresh_one(self, machine, onigiri_slot):
        receive(onigiri_slot, 1, days(1))
        receive(onigiri_slot, 2, days(2))
        stock_transfer_to_slot(slot=onigiri_slot, quantity=3)
        StockLot.objects.filter(expires_on=days(1)).update(expires_on=days(-1))

        buy(machine, onigiri_slot, 2)
        with pytest.raises(Conflict):
            buy(machine, onigiri_slot)
        assert slot_lots(onigiri_slot) == [(days(-1), 1)]

    def test_the_write_off_removes_expired_lots_as_waste_and_posts_their_cost(self, machine, onigiri_slot):
        receive(onigiri_slot, 3, days(0))
        receive(onigiri_slot, 2, days(2))
        stock_transfer_to_slot(slot=onigiri_slot, quantity=2)  # two of today's, one left in the back room
        StockLot.objects.filter(expires_on=days(0)).update(expires_on=days(-1))  # midnight passed

        movements = expired_stock_write_off()

        assert sorted(movement.quantity_delta for movement in movements) == [-2, -1]
        assert {movement.kind for movement in movements} == {StockMovement.Kind.WASTE}
        assert balance(chart.INVENTORY_WASTE) == 3 * 80
        assert balance(chart.INVENTORY) == books_stock_value() == 2 * 80
        onigiri_slot.refresh_from_db()
        assert onigiri_slot.quantity == 0
        assert StorageStock.objects.get(product=onigiri_slot.product).quantity == 2
        assert expired_stock_write_off() == []  # a rerun posts nothing
        assert stock_integrity_problems() == []

    def test_an_expired_back_room_lot_is_never_moved_into_a_slot(self, onigiri_slot):
        receive(onigiri_slot, 2, days(-1))

        with pytest.raises(Conflict, match="期限切れ"):
            stock_transfer_to_slot(slot=onigiri_slot, quantity=1)


@pytest.mark.django_db
class TestMarkdown:
    def test_the_proposal_takes_20_percent_off_for_tomorrow_and_30_for_today(self, onigiri_slot):
        receive(onigiri_slot, 2, days(1))
        receive(onigiri_slot, 2, days(0))
        today_lot, tomorrow_lot = StockLot.objects.filter(product=onigiri_slot.product)

        assert markdown_propose(lot=tomorrow_lot).proposed_price_yen == 120  # ¥160 − 20 % → ¥128 → ¥120
        assert markdown_propose(lot=today_lot).proposed_price_yen == 110
        assert markdown_propose(lot=StockLot(product=onigiri_slot.product, quantity=1, expires_on=days(5))) is None

    def test_the_proposal_never_goes_below_cost(self, onigiri_slot):
        onigiri_slot.product.price_yen = 90
        onigiri_slot.product.save()
        receive(onigiri_slot, 1, days(0))

        assert markdown_propose(lot=StockLot.objects.get()).proposed_price_yen == 80

    def test_a_manager_marks_down_to_cost(self, onigiri_slot, manager_user):
        receive(onigiri_slot, 2, days(0))

        change = markdown_apply(lot=StockLot.objects.get(), new_price_yen=80, actor=manager_user)

        assert (change.old_price_yen, change.new_price_yen) == (160, 80)
        assert "見切り" in change.reason

    def test_below_cost_is_refused_without_a_managers_clearance(self, onigiri_slot, manager_user, staff_user):
        receive(onigiri_slot, 2, days(0))
        lot = StockLot.objects.get()
        staff_user.user_permissions.add(*_price_permission())

        with pytest.raises(ValidationError, match="原価80円を下回る"):
            markdown_apply(lot=lot, new_price_yen=50, actor=manager_user)
        with pytest.raises(PermissionDenied):
            markdown_apply(lot=lot, new_price_yen=50, actor=staff_user, clearance=True, reason="閉店前")
        with pytest.raises(PermissionDenied):
            markdown_apply(lot=lot, new_price_yen=50, actor_label="pricing-agent", clearance=True, reason="売切り")
        onigiri_slot.product.refresh_from_db()
        assert onigiri_slot.product.price_yen == 160

        change = markdown_apply(lot=lot, new_price_yen=50, actor=manager_user, clearance=True, reason="閉店前に処分")
        assert change.guard_overridden and change.new_price_yen == 50

    def test_use_by_goods_past_their_date_are_never_marked_down(self, onigiri_slot, manager_user):
        receive(onigiri_slot, 2, days(-1))

        with pytest.raises(ValidationError, match="消費期限を過ぎた"):
            markdown_apply(
                lot=StockLot.objects.get(), new_price_yen=50, actor=manager_user, clearance=True, reason="処分"
            )


def _price_permission():
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename="change_price", content_type__app_label="inventory")
