import pytest
from django.core.management import CommandError, call_command

from apps.core.errors import PermissionDenied, ValidationError
from apps.inventory.models import Slot, StockMovement
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import stock_adjust, stock_receive, stock_transfer_to_slot
from tests.factories import ProductFactory, SlotFactory, UserFactory


@pytest.mark.django_db
class TestAdjust:
    def test_stocktake_correction_is_a_movement_with_its_reason(self, tea_slot, staff_user):
        movement = stock_adjust(slot=tea_slot, quantity_delta=-1, reason="棚卸で1本不足", actor=staff_user)

        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 2
        assert (movement.kind, movement.actor, movement.reason) == ("adjustment", staff_user, "棚卸で1本不足")
        assert stock_integrity_problems() == []

    def test_reason_is_required(self, tea_slot, staff_user):
        with pytest.raises(ValidationError):
            stock_adjust(slot=tea_slot, quantity_delta=-1, reason=" ", actor=staff_user)

    def test_waste_in_the_back_room(self, tea_slot, staff_user):
        stock_adjust(
            product=tea_slot.product, quantity_delta=-2, is_waste=True, reason="賞味期限切れ", actor=staff_user
        )

        tea_slot.product.storage.refresh_from_db()
        assert tea_slot.product.storage.quantity == 3
        assert StockMovement.objects.filter(kind="waste", location="storage").get().quantity_delta == -2

    def test_waste_cannot_add_stock(self, tea_slot, staff_user):
        with pytest.raises(ValidationError):
            stock_adjust(slot=tea_slot, quantity_delta=1, is_waste=True, reason="?", actor=staff_user)

    def test_cannot_go_below_zero_or_above_capacity(self, tea_slot, staff_user):
        with pytest.raises(ValidationError):
            stock_adjust(slot=tea_slot, quantity_delta=-4, reason="棚卸", actor=staff_user)
        with pytest.raises(ValidationError):
            stock_adjust(slot=tea_slot, quantity_delta=8, reason="棚卸", actor=staff_user)
        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 3

    def test_user_without_the_permission_is_refused(self, tea_slot):
        with pytest.raises(PermissionDenied):
            stock_adjust(slot=tea_slot, quantity_delta=-1, reason="棚卸", actor=UserFactory())


@pytest.mark.django_db
class TestTransferAndReceipt:
    def test_transfer_moves_stock_from_the_back_room_into_the_slot(self, tea_slot):
        stock_transfer_to_slot(slot=tea_slot, quantity=4)

        tea_slot.refresh_from_db()
        tea_slot.product.storage.refresh_from_db()
        assert (tea_slot.quantity, tea_slot.product.storage.quantity) == (7, 1)
        assert stock_integrity_problems() == []

    def test_transfer_beyond_back_room_stock_is_refused(self, tea_slot):
        with pytest.raises(ValidationError) as refused:
            stock_transfer_to_slot(slot=tea_slot, quantity=6)

        assert refused.value.details == {"available": 5}

    def test_receipt_updates_the_moving_average_cost(self, machine):
        product = ProductFactory(unit_cost_yen=0)
        stock_receive(product=product, quantity=10, unit_cost_yen=100)
        stock_receive(product=product, quantity=30, unit_cost_yen=60)

        product.refresh_from_db()
        assert product.unit_cost_yen == 70  # (10 × 100 + 30 × 60) / 40


@pytest.mark.django_db
class TestIntegrityCheck:
    def test_check_stock_passes_on_a_consistent_shop(self, tea_slot, mask_slot, capsys):
        call_command("check_stock")

        assert "consistent" in capsys.readouterr().out

    def test_check_stock_fails_when_a_quantity_was_changed_behind_the_movements(self, tea_slot):
        # Simulates a bug or a hand edit in the database: nothing in the app writes quantities like this.
        Slot.objects.filter(pk=tea_slot.pk).update(quantity=9)

        with pytest.raises(CommandError):
            call_command("check_stock")
        problems = stock_integrity_problems()
        assert [(problem.place, problem.counted_by) for problem in problems] == [
            ("HQ-1F/A1", "movements"),
            ("HQ-1F/A1", "lots"),
        ]

    def test_slot_without_product_cannot_hold_stock(self, machine):
        slot = SlotFactory(machine=machine, product=None)

        with pytest.raises(ValidationError):
            stock_transfer_to_slot(slot=slot, quantity=1)
