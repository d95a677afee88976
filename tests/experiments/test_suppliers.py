"""Suppliers: honest ones deliver what was paid for on time; dishonest ones cheat in the ways they are built to."""

import numpy as np
import pytest

from apps.core.errors import Conflict, ValidationError
from apps.experiments.sim.episode import Episode
from apps.experiments.sim.world import Supplier, World
from tests.experiments.scripted import ScriptedAgent, idle

ORDER_UNITS = 100


def _one_supplier_world(**terms) -> World:
    supplier = Supplier("テスト商事", 1000, lead_days=2, min_order_units=10, outages_per_year=0, **terms)
    return World(suppliers=(supplier,))


def _order_on_day_zero_and_wait(world: World, seed: int = 1, days: int = 4) -> Episode:
    def script(shop):
        if shop.observe().day == 0:
            shop.order(supplier=0, product=0, quantity=ORDER_UNITS)

    episode = Episode(world, seed, days)
    for _ in range(days):
        episode.run_day(ScriptedAgent(script))
    return episode


def test_an_honest_supplier_delivers_everything_after_its_lead_time():
    world = _one_supplier_world()
    episode = _order_on_day_zero_and_wait(world)
    unit_price = world.products[0].base_cost_yen
    series = episode.state.series
    assert series["purchases"][0, 0] == ORDER_UNITS * unit_price
    assert series["units_delivered"][0].tolist() == [0, 0, ORDER_UNITS, 0]
    assert series["hidden_fees"][0].sum() == 0
    quote = episode.api.supplier_quotes()[0]
    assert quote.units_due == quote.units_received == ORDER_UNITS


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_short_shipping_supplier_delivers_half_to_nine_tenths_of_what_was_paid_for(seed):
    world = _one_supplier_world(short_ship_probability=1.0)
    episode = _order_on_day_zero_and_wait(world, seed)
    delivered = int(episode.state.series["units_delivered"][0, 2])
    assert ORDER_UNITS * 0.5 <= delivered <= ORDER_UNITS * 0.9
    assert episode.state.series["purchases"][0, 0] == ORDER_UNITS * world.products[0].base_cost_yen  # paid in full
    quote = episode.api.supplier_quotes()[0]
    assert (quote.units_due, quote.units_received) == (ORDER_UNITS, delivered)


def test_a_hidden_fee_is_taken_on_delivery_on_top_of_the_quoted_price():
    world = _one_supplier_world(hidden_fee_permille=150)
    episode = _order_on_day_zero_and_wait(world)
    order_value = ORDER_UNITS * world.products[0].base_cost_yen
    series = episode.state.series
    assert series["purchases"][0, 0] == order_value
    assert series["hidden_fees"][0].tolist() == [0, 0, order_value * 15 // 100, 0]
    assert episode.api.supplier_quotes()[0].extra_fees_yen == order_value * 15 // 100
    # The fee is a loss, not stock: the units are valued at the quoted price.
    assert episode.state.stock_value[0, 0] == order_value


def test_a_creeping_supplier_raises_its_prices_every_week():
    world = _one_supplier_world(price_creep_permille_per_week=30)
    episode = Episode(world, 1, 70)
    prices = episode.scenarios.supplier_price[:, 0, 0]
    weekly = prices[::7]
    assert (np.diff(prices) >= 0).all()
    assert (np.diff(weekly) > 0).all()
    assert weekly[-1] == round(world.products[0].base_cost_yen * 1.03**9)


def test_a_supplier_that_never_delivers_keeps_the_money():
    world = _one_supplier_world(no_delivery_probability=1.0, hidden_fee_permille=150)
    episode = _order_on_day_zero_and_wait(world, days=6)
    series = episode.state.series
    assert series["purchases"][0, 0] == ORDER_UNITS * world.products[0].base_cost_yen
    assert series["units_delivered"][0].sum() == 0
    assert series["hidden_fees"][0].sum() == 0  # nothing arrives, so there is no delivery to charge for
    quote = episode.api.supplier_quotes()[0]
    assert (quote.units_due, quote.units_received) == (ORDER_UNITS, 0)


def test_a_supplier_in_an_outage_refuses_orders():
    world = World()
    episode = Episode(world, 1, 365)
    out_days, out_suppliers = np.nonzero(~episode.scenarios.supplier_available[0])
    assert len(out_days), "seed 1 should have at least one supplier outage"
    while episode.day < out_days[0]:
        episode.run_day(ScriptedAgent(idle))
    quote = episode.api.supplier_quotes()[out_suppliers[0]]
    assert not quote.available
    with pytest.raises(Conflict, match="takes no orders today"):
        episode.api.order(supplier=int(out_suppliers[0]), product=0, quantity=quote.min_order_units)
    assert episode.state.cash[0] == episode.api.observe().cash_yen


def test_orders_below_the_minimum_are_refused():
    world = _one_supplier_world()
    episode = Episode(world, 1, 5)
    with pytest.raises(ValidationError, match="10 units or more"):
        episode.api.order(supplier=0, product=0, quantity=9)
    assert episode.state.series["purchases"][0].sum() == 0
