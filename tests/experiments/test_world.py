"""A simulated world refuses figures its engines cannot run: demand is looked up per coin step of price, and the
per-product lists must cover every product."""

import dataclasses

import pytest

from apps.experiments.sim.world import PRICE_STEP_YEN, World


def test_a_reference_price_off_the_coin_step_is_refused():
    products = World().products
    odd = (dataclasses.replace(products[0], reference_price_yen=products[0].reference_price_yen + PRICE_STEP_YEN // 2),)
    with pytest.raises(ValueError, match=f"multiples of {PRICE_STEP_YEN} yen"):
        World(products=odd + products[1:])


def test_per_product_and_per_slot_lists_must_cover_them_all():
    world = World()
    with pytest.raises(ValueError, match="one product per slot"):
        World(initial_slot_products=world.initial_slot_products[:-1])
    with pytest.raises(ValueError, match="one number per product"):
        World(shelf_life_days=(3,) * (len(world.products) - 1))
