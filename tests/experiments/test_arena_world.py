"""The arena's world: the demo shop's data files, the events of a Vending-Bench year, cash and card, determinism."""

import pytest

from apps.core.demo import demo_fixture
from apps.core.errors import Conflict
from apps.experiments.arena.agents import ArenaHeuristic
from apps.experiments.arena.events import Event, draw_arena
from apps.experiments.arena.run import Arena, run_arena
from apps.experiments.arena.world import demo_world


@pytest.fixture(scope="module")
def world():
    return demo_world()


def _heuristic_year(world, seed, days=365):
    return run_arena(world=world, seed=seed, days=days, agent=ArenaHeuristic(), trace=False)


def test_the_world_is_the_demo_shop_from_its_data_files(world):
    catalogue = demo_fixture("catalogue")["products"]
    machine = demo_fixture("machines")["machines"][0]
    assert [p.sku for p in world.products] == [p["sku"] for p in catalogue]  # all 31
    assert [code for code, *_rest in world.slots] == [slot[0] for slot in machine["slots"]]
    assert {s.name for s in world.suppliers} >= {s["name"] for s in demo_fixture("suppliers")["suppliers"]}
    assert sum(fee.amount_yen for fee in world.machine_fees) == sum(fee["amount"] for fee in machine["fees"])
    onigiri = world.products[world.sku_index("F001")]
    assert onigiri.fresh and onigiri.unit_cost_yen == 102 * 108 // 100  # food: 8% tax on the catalogue's cost
    assert not world.products[world.sku_index("G001")].fresh


def test_the_same_seed_gives_the_same_year_and_another_seed_another(world):
    first, again, other = (_heuristic_year(world, seed) for seed in (4, 4, 5))
    assert first.series == again.series and first.events == again.events
    assert first.series["net_worth"] != other.series["net_worth"]


def test_a_year_has_every_kind_of_event_somewhere_among_twenty_seeds(world):
    kinds = {event.kind for seed in range(1, 21) for event in draw_arena(world, seed, 365).events}
    assert kinds == {"breakdown", "supplier_closed", "recall", "rush", "price_shock"}


def _arena_with(world, seed, *events: Event) -> Arena:
    arena = Arena(world, seed, 10)
    scenario = arena.shop.scenario
    scenario.events_by_day = {}
    for event in events:
        scenario.events_by_day.setdefault(event.day, []).append(event)
    return arena


class Idle:
    name = "idle"

    def act(self, api, *, events, mail):
        pass


def test_a_breakdown_costs_its_repair_and_sells_nothing_while_down(world):
    arena = _arena_with(world, 3, Event(0, "breakdown", {"down_days": 2, "repair_yen": 12_000}))
    arena.shop.scenario.broken[:2] = [True, True]
    cash = arena.shop.cash
    arena.run_day(Idle(), record=False)
    assert arena.shop.series["units_sold"][0] == 0 and arena.shop.series["repairs"][0] == 12_000
    assert arena.shop.cash == cash - 12_000


def test_a_recall_pulls_the_stock_refunds_recent_buyers_and_blocks_the_product(world):
    arena = _arena_with(world, 3)
    for _ in range(3):
        arena.run_day(Idle(), record=False)
    tea = world.sku_index("D001")
    sold_revenue = arena.shop.window_sums("revenue", world.recall_refund_days)[tea]
    value, cash = arena.shop.stock_value[tea], arena.shop.cash
    arena.shop.scenario.events_by_day[3] = [Event(3, "recall", {"sku": "D001", "blocked_days": 5})]
    arena.shop.morning()
    assert sold_revenue > 0 and arena.shop.series["refunds"][3] == sold_revenue
    assert arena.shop.cash >= cash + value - sold_revenue  # the maker took the units back at cost (and cards settled)
    assert arena.shop.shelf_units()[tea] == 0 and arena.shop.back[tea] == 0
    with pytest.raises(Conflict):
        arena.api.order(supplier=0, lines=[["D001", 24]])


def test_a_supplier_that_closes_keeps_the_money_of_what_it_had_not_delivered(world):
    arena = _arena_with(world, 3, Event(1, "supplier_closed", {"supplier": 1, "name": world.suppliers[1].name}))
    arena.morning()
    arena.api.order(supplier=1, lines=[["D004", 60], ["D006", 24], ["D010", 6]])  # next-day delivery
    arena.shop.night()
    arena.shop.day += 1
    back = list(arena.shop.back)
    arena.morning()
    assert arena.shop.back == back and arena.shop.suppliers[1].units_received == 0
    assert not arena.api.trusted()[1]
    with pytest.raises(Conflict):
        arena.api.order(supplier=1, lines=[["D004", 30]])


def test_cash_waits_in_the_coin_box_card_settles_next_morning_less_its_fee_and_a_full_box_turns_cash_away(world):
    arena = _arena_with(world, 3)
    arena.run_day(Idle(), record=False)
    shop = arena.shop
    revenue, in_coins = shop.series["revenue"][0], shop.series["cash_revenue"][0]
    assert 0 < in_coins < revenue and shop.coin_box == in_coins
    card = revenue - in_coins
    cash = shop.cash
    arena.morning()
    assert shop.cash == cash + card - card * world.card_fee_permille // 1000
    shop.coin_box = world.coin_box_capacity_yen
    shop.night()
    assert shop.series["cash_revenue"][1] == 0 and shop.coin_box == world.coin_box_capacity_yen
    collected = arena.api.collect_cash()["collected_yen"]
    assert collected == world.coin_box_capacity_yen - 300 and shop.coin_box == 0
