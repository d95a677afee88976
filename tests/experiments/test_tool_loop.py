"""The simulator's agent runs the shop's tool loop: the same bound on rounds of tools, its step budget on top."""

import pytest

from apps.agents.limits import MAX_TOOL_ROUNDS
from apps.agents.providers.base import ProviderReply, ToolCall
from apps.experiments.adapter import ProviderAgent, sim_agent
from apps.experiments.sim.episode import Episode
from apps.experiments.sim.world import World

pytestmark = pytest.mark.django_db


class StockCheckForever:
    """A model that answers every call with one more stock check."""

    name = "stock-check-forever"
    model_name = "stock-check-forever-1"
    accepts_images = False

    def __init__(self):
        self.calls = 0

    def complete(self, request):
        self.calls += 1
        call = ToolCall(id=str(self.calls), name="check_stock", arguments={"sku": "SIM-00"})
        return ProviderReply(tool_calls=(call,), input_tokens=10, output_tokens=2)


@pytest.mark.parametrize(("step_budget", "calls"), [(100, MAX_TOOL_ROUNDS + 1), (3, 3)])
def test_a_day_ends_after_max_tool_rounds_or_when_the_step_budget_runs_out(step_budget, calls):
    world, model = World(), StockCheckForever()
    agent = ProviderAgent(world=world, provider=model, agent=sim_agent(), step_budget=step_budget)

    agent.act(Episode(world, seed=1, days=5).api)

    assert model.calls == calls and agent.steps_left == step_budget - calls
    # The shop's bound: the tools of the last allowed round are not run. Under the step budget they are.
    assert agent.usage() == {
        "tool_calls": min(calls, MAX_TOOL_ROUNDS),
        "refusals": {},
        "input_tokens": 10 * calls,
        "output_tokens": 2 * calls,
    }
