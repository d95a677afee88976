import pytest

from apps.core.errors import Conflict
from apps.inventory.models import RestockTask
from apps.inventory.selectors import stock_integrity_problems
from apps.inventory.services import restock_plan, restock_task_complete, stock_adjust
from tests.factories import ProductFactory, SlotFactory, stock_slot


@pytest.mark.django_db
class TestRestockPlan:
    def test_slot_below_par_gets_what_fits_from_the_back_room(self, machine, tea_slot):
        # A1: 3 of capacity 10 (par 5), 5 in the back room → transfer min(5, 7) = 5.
        [task] = restock_plan(machine=machine)

        assert (task.slot, task.quantity, task.priority) == (tea_slot, 5, "normal")

    def test_nearly_empty_slot_is_high_priority_and_capped_by_capacity(self, machine):
        juice = ProductFactory(sku="D007")
        slot = stock_slot(SlotFactory(machine=machine, code="B1", product=juice, capacity=6), 1, spare=20)

        [task] = restock_plan(machine=machine)

        assert (task.slot, task.quantity, task.priority) == (slot, 5, "high")

    def test_slots_at_par_or_without_back_room_stock_are_left_alone(self, machine):
        full = ProductFactory(sku="D001")
        stock_slot(SlotFactory(machine=machine, code="A1", product=full), 5, spare=10)
        empty_storage = ProductFactory(sku="D002")
        stock_slot(SlotFactory(machine=machine, code="A2", product=empty_storage), 1)

        assert restock_plan(machine=machine) == []

    def test_back_room_stock_is_shared_between_slots_of_one_product(self, machine):
        cola = ProductFactory(sku="D006")
        first = stock_slot(SlotFactory(machine=machine, code="A1", product=cola), 0, spare=12)
        second = SlotFactory(machine=machine, code="A2", product=cola)

        tasks = restock_plan(machine=machine)

        assert [(task.slot, task.quantity) for task in tasks] == [(first, 10), (second, 2)]

    def test_planning_twice_does_not_duplicate_open_tasks(self, machine, tea_slot):
        restock_plan(machine=machine)

        assert restock_plan(machine=machine) == []
        assert RestockTask.objects.count() == 1


@pytest.mark.django_db
class TestRestockTaskComplete:
    def test_completing_moves_the_stock_and_closes_the_task(self, machine, tea_slot, staff_user):
        [task] = restock_plan(machine=machine)

        done = restock_task_complete(task=task, actor=staff_user)

        tea_slot.refresh_from_db()
        assert tea_slot.quantity == 8
        assert (done.status, done.transferred_quantity, done.done_by) == ("done", 5, staff_user)
        assert stock_integrity_problems() == []

    def test_completing_moves_only_what_is_still_in_the_back_room(self, machine, tea_slot, staff_user):
        [task] = restock_plan(machine=machine)
        stock_adjust(product=tea_slot.product, quantity_delta=-3, is_waste=True, reason="破損", actor=staff_user)

        done = restock_task_complete(task=task, actor=staff_user)

        assert done.transferred_quantity == 2

    def test_a_done_task_cannot_be_completed_again(self, machine, tea_slot, staff_user):
        [task] = restock_plan(machine=machine)
        restock_task_complete(task=task, actor=staff_user)

        with pytest.raises(Conflict):
            restock_task_complete(task=task, actor=staff_user)
