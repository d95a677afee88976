"""Several slots restocked in one call: each checked as `restock_slot` checks it, and all of them or none; every slot
topped up in one call (`refill_all_slots`)."""

import pytest

from apps.core.errors import Conflict, NotFound, ValidationError
from apps.experiments.sim.episode import Episode
from tests.experiments.scripted import ScriptedAgent, idle, world_with_suppliers

IN_BACK_ROOM = 20  # units of product 0, which slots 0 and 8 hold; the slots take 12 each


def _product_0_in_the_back_room() -> Episode:
    """The morning of day 2: product 0 ordered on day 0, delivered on day 1 and, with empty slots, none of it sold."""
    episode = Episode(world_with_suppliers(outages_per_year=0), 1, 5)
    episode.run_day(ScriptedAgent(lambda shop: shop.order(supplier=1, product=0, quantity=IN_BACK_ROOM)))
    episode.run_day(ScriptedAgent(idle))
    stock = episode.api.check_stock()
    assert (stock.back_room_units[0], stock.slot_units[0], stock.slot_units[8]) == (IN_BACK_ROOM, 0, 0)
    return episode


def test_restocking_several_slots_moves_what_restocking_them_one_by_one_moves():
    together, one_by_one = _product_0_in_the_back_room(), _product_0_in_the_back_room()
    together.api.restock_slots(units_by_slot={8: 12, 0: 5})
    one_by_one.api.restock_slot(slot=8, quantity=12)
    one_by_one.api.restock_slot(slot=0, quantity=5)
    stock = together.api.check_stock()
    assert (stock.slot_units[8], stock.slot_units[0], stock.back_room_units[0]) == (12, 5, IN_BACK_ROOM - 17)
    assert stock == one_by_one.api.check_stock()


@pytest.mark.parametrize(
    ("units_by_slot", "error", "message"),
    [
        ({0: 12, 8: 9}, Conflict, "The back room holds 8 units of product 0"),  # what is left after slot 0's
        ({0: 5, 8: 13}, Conflict, "Slot 8 has room for 12 more units"),
        ({0: 5, 12: 1}, NotFound, "There is no slot 12"),
        ({0: 5, 8: 0}, ValidationError, "quantity must be at least 1"),
        ({0: 5, 8: 2.5}, ValidationError, "quantity must be a whole number"),
        ([(0, 5)], ValidationError, "units_by_slot must map slots to units"),
    ],
)
def test_a_refused_slot_is_named_and_no_slot_is_restocked(units_by_slot, error, message):
    episode = _product_0_in_the_back_room()
    before = episode.api.check_stock()
    with pytest.raises(error, match=message):
        episode.api.restock_slots(units_by_slot=units_by_slot)
    assert episode.api.check_stock() == before


@pytest.mark.parametrize(
    "restock",
    [lambda api: api.restock_slots(units_by_slot={0: 5}), lambda api: api.refill_all_slots()],
    ids=["restock_slots", "refill_all_slots"],
)
def test_a_shop_that_has_closed_restocks_nothing(restock):
    episode = _product_0_in_the_back_room()
    while episode.day < episode.days:
        episode.run_day(ScriptedAgent(idle))
    before = episode.api.check_stock()
    with pytest.raises(Conflict, match="ended after 5 days"):
        restock(episode.api)
    assert episode.api.check_stock() == before


def test_refilling_all_slots_moves_what_restocking_each_slot_to_full_moves():
    refilled, restocked = _product_0_in_the_back_room(), _product_0_in_the_back_room()
    on_shelf = refilled.api.refill_all_slots()
    restocked.api.restock_slots(units_by_slot={0: 12, 8: IN_BACK_ROOM - 12})
    stock = refilled.api.check_stock()
    assert (stock.slot_units[0], stock.slot_units[8], stock.back_room_units[0]) == (12, IN_BACK_ROOM - 12, 0)
    assert stock == restocked.api.check_stock()
    assert on_shelf == [IN_BACK_ROOM] + [0] * 9  # per product, the units in its slots


def test_refilling_tops_slots_up_in_slot_order_while_the_back_room_lasts():
    episode = _product_0_in_the_back_room()
    episode.api.restock_slot(slot=8, quantity=5)
    on_shelf = episode.api.refill_all_slots()
    stock = episode.api.check_stock()
    # Slot 0 comes first and is filled; slot 8 gets the 3 units left, on top of its 5.
    assert (stock.slot_units[0], stock.slot_units[8], stock.back_room_units[0]) == (12, 8, 0)
    assert on_shelf[0] == IN_BACK_ROOM
