"""Whatever an agent tries, money and stock only move by sales, purchases, fees, deliveries and waste."""

import numpy as np
import pytest

from apps.core.errors import ApplicationError
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import Episode, ShopApi, run_episode
from apps.experiments.sim.world import MAX_PRICE_YEN, World
from tests.experiments.scripted import ScriptedAgent, world_with_suppliers


def _state_snapshot(episode: Episode) -> dict[str, np.ndarray]:
    state = episode.state
    return {
        name: getattr(state, name).copy()
        for name in ("cash", "price", "slot_product", "slot_units", "back_units", "stock_value", "transit_units")
    }


class ChaoticAgent:
    """Tries random actions, many of them invalid: huge, negative, fractional, out of range."""

    name = "chaotic"

    def __init__(self, seed: int):
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.refused = 0
        self.accepted: dict[str, int] = {}
        self.episode: Episode | None = None

    def act(self, shop: ShopApi) -> None:
        rng = self.rng
        actions = {
            "set_price": lambda: shop.set_price(
                product=int(rng.integers(-1, 11)), price_yen=int(rng.integers(-50, 400)) * 10
            ),
            "set_price_fraction": lambda: shop.set_price(product=0, price_yen=float(rng.integers(1, 30)) * 10 + 0.5),
            "order": lambda: shop.order(
                supplier=int(rng.integers(-1, 5)),
                product=int(rng.integers(0, 10)),
                quantity=int(rng.integers(-10, 150)),
            ),
            "restock_slot": lambda: shop.restock_slot(
                slot=int(rng.integers(-1, 13)), quantity=int(rng.integers(-5, 20))
            ),
            "assign_slot": lambda: shop.assign_slot(slot=int(rng.integers(0, 12)), product=int(rng.integers(0, 10))),
            "sales_summary": lambda: shop.sales_summary(days=int(rng.integers(-2, 30))),
        }
        names = sorted(actions)
        for _ in range(8):
            name = names[int(rng.integers(0, len(names)))]
            before = _state_snapshot(self.episode)
            try:
                actions[name]()
            except ApplicationError:
                self.refused += 1
                after = _state_snapshot(self.episode)
                assert all(np.array_equal(before[k], after[k]) for k in before), f"a refused {name} changed the shop"
            else:
                self.accepted[name] = self.accepted.get(name, 0) + 1


def _assert_conserved(series: dict[str, np.ndarray], world: World):
    cash = np.concatenate([[world.starting_cash_yen], series["cash"]])
    flows = series["revenue"] - series["purchases"] - series["machine_fees"] - series["hidden_fees"]
    assert np.array_equal(np.diff(cash), flows)
    stock = np.concatenate([[0], series["stock_units"]])
    assert np.array_equal(np.diff(stock), series["units_delivered"] - series["units_wasted"] - series["units_sold"])
    assert (series["stock_units"] >= 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_chaotic_agent_cannot_break_the_books(seed):
    world = World()
    agent = ChaoticAgent(seed)
    episode = Episode(world, seed, 200)
    agent.episode = episode
    while episode.day < episode.days and not episode.bankrupt:
        episode.run_day(agent)
        state = episode.state
        assert (state.slot_units >= 0).all() and (state.back_units >= 0).all() and (state.stock_value >= 0).all()
        assert (state.slot_units <= world.slot_capacity_units).all()
        assert state.back_units.sum() <= world.back_room_capacity_units
        assert ((state.price >= 10) & (state.price <= MAX_PRICE_YEN) & (state.price % 10 == 0)).all()
    # Both paths were really exercised: refusals, and accepted orders, restocks and price changes.
    assert agent.refused > 20
    assert {"order", "restock_slot", "set_price"} <= agent.accepted.keys()
    days = episode.day
    _assert_conserved({name: values[0, :days] for name, values in episode.state.series.items()}, world)


@pytest.mark.parametrize("agent", ["heuristic", "elasticity", "one_product", "tenfold"])
def test_baseline_agents_keep_the_books_balanced(agent):
    world = World()
    result = run_episode(world=world, seed=4, days=365, agent=make_agent(agent, world))
    _assert_conserved(result.series, world)


def test_net_worth_is_cash_plus_stock_at_what_it_cost():
    world = World()
    episode = Episode(world, 3, 10)
    agent = make_agent("heuristic", world)
    for _ in range(10):
        episode.run_day(agent)
    state = episode.state
    assert state.series["net_worth"][0, 9] == state.cash[0] + state.stock_value[0].sum()
    # Each unit on hand is valued at a price some supplier charged for it, so between the cheapest and dearest quote.
    units = state.slot_units[0].sum() + state.back_units[0].sum()
    prices = episode.scenarios.supplier_price[:10]
    assert prices.min() * units <= state.stock_value[0].sum() <= prices.max() * units


def test_an_order_larger_than_the_cash_is_refused_and_costs_nothing():
    world = world_with_suppliers(outages_per_year=0)
    refusals = []

    def script(shop: ShopApi) -> None:
        try:
            shop.order(supplier=0, product=0, quantity=10_000)
        except ApplicationError as error:
            refusals.append(error)

    result = run_episode(world=world, seed=1, days=1, agent=ScriptedAgent(script))
    assert refusals and refusals[0].status_code == 402
    assert result.series["purchases"][0] == 0
    assert result.series["cash"][0] == world.starting_cash_yen - world.daily_fee_yen
