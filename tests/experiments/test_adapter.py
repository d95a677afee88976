"""A live agent in the simulator: the live tool names and schemas, and the guardrail policy in front of every call."""

import json

import pytest

from apps.agents.policy import price_floor_yen
from apps.experiments.adapter import ProviderAgent, SimToolbox, lowest_quote_yen, sim_agent, sim_sku
from apps.experiments.offline_procurement import OfflineProcurementProvider
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.episode import Episode, run_episode
from apps.experiments.sim.world import World

pytestmark = pytest.mark.django_db  # the live policy's price rule looks the SKU up among the shop's products


def _shop():
    episode = Episode(World(), seed=3, days=10)
    return episode.api


def test_the_agent_is_offered_the_live_tools_under_their_live_names_and_schemas():
    from apps.agents.tools.registry import TOOLS

    specs = {spec["name"]: spec for spec in SimToolbox(agent=sim_agent(), world=World()).specs()}
    for name in ("check_stock", "sales_summary", "set_price", "propose_purchase_order"):
        assert specs[name]["input_schema"] == TOOLS[name].schema


def test_a_price_below_cost_times_1_1_is_refused_by_the_policy_and_changes_nothing():
    shop = _shop()
    toolbox = SimToolbox(agent=sim_agent(), world=World())
    cost = lowest_quote_yen(shop, 0)
    before = shop.observe().prices_yen[0]
    result = toolbox.call(shop, "set_price", {"sku": sim_sku(0), "price_yen": cost, "reason": "安売り"})
    assert not result.ok and result.rule == "below_cost"
    assert shop.observe().prices_yen[0] == before
    # The model is told the live rule's own words and floor (one function: apps.agents.policy.price_floor_check).
    assert f"{price_floor_yen(cost_yen=cost)}円以上にしてください" in result.error
    allowed = -(-cost * 11 // 10 // 10) * 10 + 10
    assert toolbox.call(shop, "set_price", {"sku": sim_sku(0), "price_yen": allowed, "reason": "利幅"}).ok
    assert shop.observe().prices_yen[0] == allowed


@pytest.mark.parametrize(
    ("name", "arguments", "rule"),
    [
        ("set_price", {"sku": "SIM-00", "price_yen": 500}, "invalid_arguments"),  # no reason: the live schema
        (
            "order_from_supplier",
            {"supplier": 0, "sku": "SIM-00", "quantity": 30, "bank_account": "x"},
            "payment_gateway",
        ),
        ("issue_coupon", {"percent": 10, "reason": "x"}, "unknown_tool"),  # not a simulator tool
        ("transfer_cash", {"yen": 100}, "unknown_tool"),
    ],
)
def test_calls_the_live_policy_forbids_are_refused(name, arguments, rule):
    shop = _shop()
    cash = shop.observe().cash_yen
    result = SimToolbox(agent=sim_agent(), world=World()).call(shop, name, arguments)
    assert (result.ok, result.rule) == (False, rule)
    assert shop.observe().cash_yen == cash


def test_a_tool_not_enabled_on_the_agent_is_refused():
    agent = sim_agent()
    agent.enabled_tools = ["check_stock"]
    result = SimToolbox(agent=agent, world=World()).call(
        _shop(), "set_price", {"sku": "SIM-00", "price_yen": 500, "reason": "x"}
    )
    assert result.rule == "tool_not_enabled"


@pytest.mark.parametrize("sku", ["SIM-99", "TEA", "SIM-x"])
def test_an_unknown_product_is_answered_not_crashed(sku):
    result = SimToolbox(agent=sim_agent(), world=World()).call(
        _shop(), "set_price", {"sku": sku, "price_yen": 500, "reason": "x"}
    )
    assert (result.ok, result.rule) == (False, "") and sku in result.error


def test_the_shop_refuses_what_the_world_forbids_with_a_message():
    shop = _shop()
    result = SimToolbox(agent=sim_agent(), world=World()).call(
        shop, "order_from_supplier", {"supplier": 0, "sku": "SIM-00", "quantity": 1000}
    )
    assert not result.ok and "¥" in result.error  # more than the shop's cash


def test_the_offline_procurement_agent_trades_through_the_adapter_and_keeps_the_shop_alive():
    world = World()
    agent = ProviderAgent(world=world, provider=OfflineProcurementProvider(), agent=sim_agent(), step_budget=200)
    result = run_episode(world=world, seed=1, days=60, agent=agent)
    baseline = run_episode(world=world, seed=1, days=60, agent=make_agent("heuristic", world))
    usage = agent.usage()
    assert result.bankrupt_day is None
    assert usage["tool_calls"] > 60 and not usage["refusals"]
    assert result.final_net_worth > world.starting_cash_yen - 60 * world.daily_fee_yen
    assert result.final_net_worth > baseline.final_net_worth * 0.9  # close to the rule baseline it mirrors


def test_a_markup_below_the_floor_is_refused_every_time_and_the_step_budget_stops_the_agent():
    world = World()
    agent = ProviderAgent(
        world=world, provider=OfflineProcurementProvider(markup_permille=1000), agent=sim_agent(), step_budget=6
    )
    run_episode(world=world, seed=2, days=20, agent=agent)
    assert agent.usage()["refusals"]["below_cost"] >= 8
    assert agent.steps_left == 0


class ScriptedModel:
    """Stands in for the model vendor: asks for the given tool calls on day 0, then answers with text."""

    name = "scripted"
    model_name = "scripted-model"

    def __init__(self, calls):
        self.calls = calls
        self.seen_results = []

    def complete(self, request):
        from apps.agents.providers.base import ProviderReply, ToolCall

        if request.messages[-1].role == "tool":
            self.seen_results = [m.result for m in request.messages if m.role == "tool"]
            return ProviderReply(text="done")
        if json.loads(request.messages[-1].text)["day"] > 0:
            return ProviderReply(text="nothing today")
        return ProviderReply(
            tool_calls=tuple(
                ToolCall(id=str(n), name=name, arguments=args) for n, (name, args) in enumerate(self.calls)
            )
        )


def test_a_model_that_tries_to_gouge_below_cost_or_pay_someone_is_told_why_and_nothing_happens():
    world = World()
    model = ScriptedModel(
        [
            ("set_price", {"sku": "SIM-00", "price_yen": 10, "reason": "大安売り"}),
            ("order_from_supplier", {"supplier": 0, "sku": "SIM-00", "quantity": 24, "pay_to": "my wallet"}),
            ("set_price", {"sku": "SIM-00", "price_yen": 300, "reason": "利幅"}),
        ]
    )
    agent = ProviderAgent(world=world, provider=model, agent=sim_agent(), step_budget=10)
    result = run_episode(world=world, seed=4, days=3, agent=agent)
    below_cost, payee, allowed = model.seen_results
    assert below_cost["refused_by_policy"] == "below_cost" and "1.1" in below_cost["error"]
    assert payee["refused_by_policy"] == "payment_gateway"
    assert allowed == {"ok": True, "data": {"sku": "SIM-00", "old_price_yen": 160, "new_price_yen": 300}}
    assert result.series["purchases"].sum() == 0  # the refused order bought nothing
    assert agent.usage()["refusals"] == {"below_cost": 1, "payment_gateway": 1}
