"""Fresh food in the arena: dated lots through the back room and the slots (earliest date first), the morning
write-off of what is past its date at cost, what the tools tell an agent about it, and agents that order less."""

import pytest

from apps.experiments.arena.agents import ArenaHeuristic, ArenaWasteBlind
from apps.experiments.arena.provider_agent import morning_report, offline_agent
from apps.experiments.arena.run import Arena, replay_day, run_arena
from apps.experiments.arena.tools import ArenaToolbox, arena_agent
from apps.experiments.arena.world import demo_world


@pytest.fixture(scope="module")
def world():
    return demo_world()


class Idle:
    name = "idle"

    def act(self, api, *, events, mail):
        pass


def _quiet_arena(world, *, selling: bool) -> Arena:
    """A ten-day arena with no events; with `selling` False the machine sells nothing (every unit stays unsold)."""
    arena = Arena(world, 4, 10)
    scenario = arena.shop.scenario
    scenario.events_by_day = {}
    scenario.broken[:] = [not selling] * 10
    return arena


def _next_day(arena: Arena, agent=None) -> None:
    arena.run_day(agent or Idle(), record=False)


def test_fresh_food_left_unsold_past_its_date_is_thrown_away_at_cost_the_rest_keeps(world):
    arena = _quiet_arena(world, selling=False)
    shop = arena.shop
    fresh = [p for p, product in enumerate(world.products) if product.fresh]
    assert [world.products[p].sku for p in fresh] == ["F001", "F002", "F003", "F004", "F005"]
    on_hand = [shelf + back for shelf, back in zip(shop.shelf_units(), shop.back, strict=True)]
    for _day in range(3):  # delivered on day 0, dated day 2: day 2 is still a selling day
        _next_day(arena)
    assert shop.series["units_spoiled"][:3] == [0, 0, 0]
    value, stock_value = shop.net_worth(), list(shop.stock_value)
    tea, noodles = world.sku_index("D001"), world.sku_index("F006")  # a drink and food that keeps (undated)

    shop.morning()  # day 3

    thrown = sum(on_hand[p] for p in fresh)
    assert thrown > 0 and shop.series["units_spoiled"][3] == thrown
    assert shop.series["waste"][3] == sum(stock_value[p] for p in fresh) > 0
    assert shop.net_worth() == value - shop.series["waste"][3]  # the waste is what net worth lost
    assert all(shop.shelf_units()[p] == shop.back[p] == shop.stock_value[p] == 0 for p in fresh)
    assert shop.spoiled_today[fresh[0]] == on_hand[fresh[0]] and shop.spoiled_today[tea] == 0
    for keeps in (tea, noodles):
        assert shop.shelf_units()[keeps] + shop.back[keeps] == on_hand[keeps]
        assert shop.stock_value[keeps] == stock_value[keeps]


def test_restocks_and_sales_take_the_earliest_date_first_and_only_the_old_lot_is_thrown_away():
    arena = _quiet_arena(demo_world(back_room_capacity_units=1000), selling=True)  # the opening stock fills 400
    world = arena.world
    shop, api = arena.shop, arena.api
    onigiri = world.sku_index("F001")
    arena.morning()
    # A pack of onigiri from 丸山食品, two days on the way, all of it arriving.
    price = shop.unit_price(0, onigiri)
    shop.book_order(
        supplier=0, lines=[(onigiri, 10)], unit_prices={onigiri: price}, ship_permille=1000, fee_permille=0, lost=False
    )
    shop.night()
    shop.day += 1
    _next_day(arena)  # day 1
    arena.morning()  # day 2: the new onigiri arrive, dated day 4; the opening lot is dated day 2
    back_room = [(last, units) for place, last, units in shop.lots(onigiri) if place == "back_room"]
    assert back_room[0][0] == 2 and back_room[-1] == (4, 10)
    slot = api.slot("D1")
    room = shop.slot_capacity[slot] - shop.slot_units[slot]
    assert shop.slot_product[slot] == onigiri and room > 0
    old_in_back = back_room[0][1]
    api.restock_slot(slot="D1", quantity=room)
    back_room = {last: units for place, last, units in shop.lots(onigiri) if place == "back_room"}
    assert back_room.get(2, 0) == max(old_in_back - room, 0)  # the opening lot went in before the new one
    assert back_room[4] == 10 - max(room - old_in_back, 0)
    shop.night()
    shop.day += 1
    old = sum(units for _place, last, units in shop.lots(onigiri) if last == 2)
    new = sum(units for _place, last, units in shop.lots(onigiri) if last == 4)
    arena.morning()  # day 3: only what is left of the day-2 lot goes
    assert shop.spoiled_today[onigiri] == old and new > 0
    assert sum(units for _place, _last, units in shop.lots(onigiri)) == new
    assert shop.shelf_units()[onigiri] + shop.back[onigiri] == new


def test_the_tools_show_the_dates_on_hand_and_what_was_thrown_away(world):
    arena = _quiet_arena(world, selling=False)
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    for _day in range(3):
        _next_day(arena)
    stock = toolbox.call("check_stock", {"sku": "F001"})
    assert stock.ok, stock.error
    assert stock.data["date_kind"] == "use_by"
    assert {lot["expires_on"] for lot in stock.data["lots"]} == {"2026-04-03"}  # day 2 of a run from 1 April
    assert sum(lot["units"] for lot in stock.data["lots"]) == stock.data["in_machine"] + stock.data["back_room"]
    assert "lots" not in toolbox.call("check_stock", {"sku": "D001"}).data
    events, mail, state = arena.morning()  # day 3
    assert state["spoiled"]["F001"] > 0 and state["waste_yen"] == arena.shop.series["waste"][3]
    summary = toolbox.call("sales_summary", {"days": 7})
    rows = {row["sku"]: row for row in summary.data["products"]}
    assert rows["F001"]["spoiled_units"] == state["spoiled"]["F001"] and rows["F001"]["waste_yen"] > 0
    assert "spoiled_units" not in rows.get("D001", {})
    report = morning_report(arena.api, events=events, mail=mail)
    assert report["thrown_away_this_morning"] == state["spoiled"]
    onigiri = next(row for row in report["products"] if row["sku"] == "F001")
    assert onigiri["fresh"]["spoiled"] == state["spoiled"]["F001"] and onigiri["fresh"]["shelf_life_days"] == 2
    assert "fresh" not in next(row for row in report["products"] if row["sku"] == "D001")


def test_knowing_the_waste_the_heuristic_orders_less_fresh_food_and_ends_richer(world):
    for seed in (1, 2, 3):
        aware = run_arena(world=world, seed=seed, days=120, agent=ArenaHeuristic(), trace=False)
        blind = run_arena(world=world, seed=seed, days=120, agent=ArenaWasteBlind(), trace=False)
        assert sum(aware.series["units_spoiled"]) < sum(blind.series["units_spoiled"]) / 5
        assert sum(aware.series["purchases"]) < sum(blind.series["purchases"])
        assert aware.final_net_worth > blind.final_net_worth + sum(blind.series["waste"]) // 2


def test_over_twenty_years_neither_the_heuristic_nor_the_offline_agent_goes_bankrupt(world):
    for seed in range(1, 21):
        assert run_arena(world=world, seed=seed, days=365, agent=ArenaHeuristic(), trace=False).bankrupt_day is None
        assert run_arena(world=world, seed=seed, days=365, agent=offline_agent(), trace=False).bankrupt_day is None


def test_a_run_with_fresh_food_replays_to_the_same_waste(world):
    result = run_arena(world=world, seed=6, days=40, agent=offline_agent())
    log = result.trace["log"]
    assert sum(day["morning"]["waste_yen"] for day in log) == sum(result.series["waste"]) > 0
    replayed = replay_day(world=world, trace=result.trace, day=39)
    assert replayed.matches, replayed.mismatches
