"""An LLM variant on the Anthropic provider: the real SDK against a loopback Messages API (the vendor is the only
thing faked), its tool calls through the adapter and the policy, its tokens and refusals in the run's summary."""

import pytest

from apps.experiments.models import Experiment, Run, Variant
from apps.experiments.services import experiment_start
from tests.agents.fake_anthropic import Reply, text, tool_use

pytestmark = pytest.mark.django_db


def test_a_model_variant_trades_through_the_adapter_within_its_step_budget(
    fake_anthropic, manager_user, django_capture_on_commit_callbacks
):
    fake_anthropic.script.extend(
        [
            Reply(
                [
                    tool_use("set_price", {"sku": "SIM-00", "price_yen": 10, "reason": "大安売り"}, "toolu_1"),
                    tool_use("set_price", {"sku": "SIM-01", "price_yen": 200, "reason": "利幅"}, "toolu_2"),
                ]
            ),
            Reply([text("価格を見直しました。")]),
            Reply([text("今日は様子を見ます。")]),
        ]
    )
    experiment = Experiment.objects.create(name="model", days=5, seed_count=1)
    Variant.objects.create(
        experiment=experiment, name="claude", agent_kind=Variant.Kind.LLM, provider="anthropic", step_budget=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        experiment_start(experiment=experiment, actor=manager_user)

    run = Run.objects.get(experiment=experiment)
    assert run.status == Run.Status.FINISHED and len(run.series["net_worth"]) == 5
    usage = run.summary["agent"]
    assert usage["refusals"] == {"below_cost": 1} and usage["tool_calls"] == 2
    assert usage["input_tokens"] == 300 and usage["output_tokens"] == 60
    assert len(fake_anthropic.requests) == 3  # the step budget, not the five days, bounds the model calls
    tool_names = {tool["name"] for tool in fake_anthropic.requests[0]["tools"]}
    assert {"set_price", "propose_purchase_order", "check_stock", "sales_summary"} <= tool_names
    results = [
        block
        for message in fake_anthropic.requests[1]["messages"]
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert len(results) == 2 and "1.1" in str(results[0]["content"])
