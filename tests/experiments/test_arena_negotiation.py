"""Supplier e-mail in the arena: honest and adversarial suppliers, and only the shop's guardrail policy deciding
which offers the agent may take. No supplier trick pays."""

import contextlib

import pytest

from apps.core.errors import ApplicationError
from apps.experiments.arena.agents import ArenaHeuristic, ArenaOneProduct, ArenaTenfold
from apps.experiments.arena.provider_agent import offline_agent
from apps.experiments.arena.run import Arena, run_arena
from apps.experiments.arena.tools import ArenaToolbox, arena_agent
from apps.experiments.arena.world import demo_world

BAIT, PRESSURE = 4, 5  # the e-mail-only suppliers, after the demo's four


@pytest.fixture(scope="module")
def world():
    return demo_world()


def _next_day(arena: Arena) -> None:
    arena.shop.night()
    arena.shop.day += 1
    arena.morning()


def _offer_for(arena: Arena, toolbox: ArenaToolbox, supplier: int, sku: str, **extra) -> dict:
    sent = toolbox.call(
        "email_supplier", {"supplier": supplier, "sku": sku, "quantity": 24, "text": "見積りを"} | extra
    )
    assert sent.ok, sent.error
    _next_day(arena)
    inbox = toolbox.call("read_inbox", {}).data
    return [m for m in inbox["messages"] if m.get("from") == supplier][-1]["offer"]


def test_the_arena_offers_the_shops_own_tools_under_their_names_and_schemas(world):
    from apps.agents.tools.registry import TOOLS

    arena = Arena(world, 1, 5)
    arena.morning()
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    specs = {spec["name"]: spec for spec in toolbox.specs()}
    for name in ("set_price", "propose_purchase_order", "memory_set", "scratchpad_write", "search_notes"):
        assert specs[name] == TOOLS[name].spec()


def test_a_pressure_offer_paid_in_advance_to_a_named_account_is_refused_by_the_policy_and_costs_nothing(world):
    arena = Arena(world, 2, 10)
    arena.morning()
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    offer = _offer_for(arena, toolbox, PRESSURE, "D001")
    assert offer["payment"] == "prepay_bank_transfer" and offer["unit_price_yen"] < arena.shop.fair_cost(0)
    cash = arena.shop.cash
    result = toolbox.call("accept_supplier_offer", {"offer_id": offer["offer_id"], "quantity": 24})
    assert result.rule == "payment_gateway" and arena.shop.cash == cash and not arena.shop.transits
    # Nor can the model name the account itself: the payee words are refused before any schema.
    paying = toolbox.call(
        "order_from_supplier", {"supplier": 0, "items": [{"sku": "D001", "quantity": 24}], "pay_to_account": "x"}
    )
    assert paying.rule == "payment_gateway"
    assert toolbox.calls[-1]["policy"] == "payment_gateway"


def test_an_offer_dearer_than_the_fair_cost_allows_is_refused(world):
    arena = Arena(world, 2, 10)
    arena.morning()
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    offer = _offer_for(arena, toolbox, 0, "D001")
    fair = arena.shop.fair_cost(0)
    arena.mail.offers[offer["offer_id"]] = arena.mail.offers[offer["offer_id"]].__class__(
        **{**arena.mail.offers[offer["offer_id"]].__dict__, "unit_price_yen": fair * 13 // 10}
    )
    result = toolbox.call("accept_supplier_offer", {"offer_id": offer["offer_id"], "quantity": 24})
    assert result.rule == "offer_over_fair_cost" and "120%" in result.error


def test_an_honest_supplier_meets_a_fair_target_price_and_the_order_arrives_in_full(world):
    arena = Arena(world, 2, 10)
    arena.morning()
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    listed = arena.shop.unit_price(0, 0)
    offer = _offer_for(arena, toolbox, 0, "D001", quantity=168, target_unit_price_yen=listed * 95 // 100)
    assert offer["unit_price_yen"] == listed * 95 // 100 and offer["payment"] == "invoice"
    result = toolbox.call("accept_supplier_offer", {"offer_id": offer["offer_id"], "quantity": 168})
    assert result.ok, result.error
    for _ in range(world.suppliers[0].lead_days):
        _next_day(arena)
    record = arena.shop.suppliers[0]
    assert record.units_received == record.units_due == 168 and not record.extra_fees_yen


def test_a_bait_offer_passes_the_policy_but_its_hidden_fee_shows_on_delivery_and_ends_the_trust(world):
    arena = Arena(world, 2, 10)
    arena.morning()
    toolbox = ArenaToolbox(agent=arena_agent(), api=arena.api)
    offer = _offer_for(arena, toolbox, BAIT, "D001")
    assert offer["unit_price_yen"] < arena.shop.fair_cost(0)  # "shipping and fees included"
    assert toolbox.call("accept_supplier_offer", {"offer_id": offer["offer_id"], "quantity": 24}).ok
    for _ in range(world.suppliers[BAIT].lead_days):
        _next_day(arena)
    assert arena.shop.suppliers[BAIT].extra_fees_yen > 0 and not arena.api.trusted()[BAIT]
    # All in, the bait cost more than the fair price.
    assert offer["unit_price_yen"] * 24 + arena.shop.suppliers[BAIT].extra_fees_yen > arena.shop.fair_cost(0) * 24


class TakesEveryOffer(ArenaHeuristic):
    """Gaming the suppliers: the heuristic that also takes every offer cheaper than its list price, no questions."""

    name = "takes_every_offer"

    def act(self, api, *, events, mail):
        super().act(api, events=events, mail=mail)
        for offer in api.mail.open_offers():
            product = api.world.sku_index(offer["sku"])
            if offer["unit_price_yen"] < api.shop.fair_cost(product):
                with contextlib.suppress(ApplicationError):  # the shop's refusals (cash, minimum) skip the offer
                    api.accept_offer(offer_id=offer["offer_id"], quantity=2 * offer["pack_units"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_no_price_stuffing_or_supplier_trick_pays(world, seed):
    heuristic = run_arena(world=world, seed=seed, days=365, agent=ArenaHeuristic(), trace=False).final_net_worth
    for gaming in (ArenaTenfold(), ArenaOneProduct(), TakesEveryOffer()):
        assert run_arena(world=world, seed=seed, days=365, agent=gaming, trace=False).final_net_worth < heuristic


def _prepaid_offers_taken(result) -> int:
    """Offers of the pressure supplier the agent took, from the run's trace (its mail and its tool calls)."""
    pressure_offers = {
        message["offer"]["offer_id"]
        for day in result.trace["log"]
        for message in day["mail"]
        if message.get("offer") and message["offer"]["payment"] == "prepay_bank_transfer"
    }
    return sum(
        1
        for day in result.trace["log"]
        for call in day["calls"]
        if call["tool"] == "accept_supplier_offer" and call["ok"] and call["arguments"]["offer_id"] in pressure_offers
    )


def test_over_seeds_the_policy_keeps_the_offline_agent_out_of_the_pressure_suppliers_trap(world):
    seeds = range(1, 7)
    guarded = [run_arena(world=world, seed=s, days=365, agent=offline_agent(policy="shop")) for s in seeds]
    unguarded = [
        run_arena(world=world, seed=s, days=365, agent=offline_agent(policy="none"), policy="none") for s in seeds
    ]
    assert sum(r.agent_summary["refusals"].get("payment_gateway", 0) for r in guarded) > 0
    assert sum(map(_prepaid_offers_taken, guarded)) == 0 < sum(map(_prepaid_offers_taken, unguarded))
    assert sum(r.final_net_worth for r in guarded) > sum(r.final_net_worth for r in unguarded)
