"""Which provider and model answer a turn, and what a model call costs.

A model turn needs: the agent set to the Anthropic provider, a key, budget left (daily and monthly, in yen, from the
usage ledger), the customer within their limits, and a closed (or half-open) breaker. Otherwise the offline provider
answers in the same persona and the decision log records why. Near the budget every agent steps down to the small
model.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from apps.agents import metrics, selectors, shared_limits
from apps.agents.models import Agent
from apps.agents.providers import provider_for
from apps.agents.providers.base import Provider
from apps.agents.providers.offline import OfflineProvider
from apps.agents.services import llm_usage_record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderChoice:
    provider: Provider
    fallback_reason: str = ""  # why the offline provider answers instead of the agent's model ("" if it does not)


def model_for(agent: Agent, *, budget_percent: float) -> str:
    if budget_percent >= settings.LLM_STEP_DOWN_AT_PERCENT:
        return settings.LLM_MODEL_STEP_DOWN
    return agent.model_name or settings.LLM_MODELS[agent.kind]


def first_words_deadline_seconds(kind: str) -> float | None:
    return settings.LLM_FIRST_WORDS_DEADLINE_SECONDS.get(kind)


def provider_choice(*, agent: Agent, customer_key: str, usage: selectors.LlmUsageToday | None = None) -> ProviderChoice:
    """`usage`: the ledger's figures if the caller has just read them (a turn reads them with the agent); else read
    here. The shop's budget and the agent's own daily yen budget each switch to the offline provider when spent."""
    if agent.provider != Agent.Provider.ANTHROPIC:
        return ProviderChoice(provider_for(agent))
    if not settings.ANTHROPIC_API_KEY:
        return ProviderChoice(OfflineProvider(), "no_api_key")
    if usage is None:
        usage = selectors.llm_usage_today(agent=agent)
    budget = usage.budget
    if usage.agent_cost_yen >= agent.daily_yen_budget:
        return ProviderChoice(
            OfflineProvider(),
            f"agent_budget: {usage.agent_cost_yen:.0f} yen spent of the agent's {agent.daily_yen_budget} yen a day",
        )
    if budget.percent >= 100:
        return ProviderChoice(
            OfflineProvider(), f"budget: {budget.percent:.0f}% of the {budget.exhausted_period} budget"
        )
    over_limit = shared_limits.customer_turn_admit(customer_key) if customer_key else ""
    if over_limit:
        return ProviderChoice(OfflineProvider(), over_limit)
    # An open breaker is the provider's own first check (one Redis read), answered as a ProviderError.
    return ProviderChoice(_anthropic_provider(model_name=model_for(agent, budget_percent=budget.percent)))


def _anthropic_provider(*, model_name: str) -> Provider:
    # The anthropic SDK takes about a second to import, so only a turn that really calls the model loads it, not
    # every process that loads the apps (the start-up rule in docs/architecture.md; tests/core/test_startup.py).
    from apps.agents.providers.anthropic import AnthropicProvider

    return AnthropicProvider(model_name=model_name)


def cost_yen(*, model_name: str, input_tokens: int, output_tokens: int) -> Decimal:
    """Yen for one call from the price table; a model missing from it is priced as the dearest one listed."""
    prices = settings.LLM_PRICES_YEN_PER_MILLION
    if model_name in prices:
        per_input, per_output = prices[model_name]
    else:
        logger.warning("Model %s has no price in LLM_PRICES_YEN_PER_MILLION; using the dearest listed", model_name)
        per_input, per_output = max(prices.values(), key=lambda pair: pair[1])
    return (Decimal(input_tokens) * Decimal(str(per_input)) + Decimal(output_tokens) * Decimal(str(per_output))) / (
        Decimal(1_000_000)
    )


def turn_usage_record(
    *,
    agent: Agent,
    provider_name: str,
    model_name: str,
    customer_key: str,
    input_tokens: int,
    output_tokens: int,
    calls: int,
) -> Decimal:
    """Book a turn's model calls at once: the usage ledger, the customer's daily tokens, the metrics. Returns the
    cost in yen (the price table is linear, so per turn equals the sum per call)."""
    cost = cost_yen(model_name=model_name, input_tokens=input_tokens, output_tokens=output_tokens)
    llm_usage_record(
        agent=agent,
        model_name=model_name,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_yen=cost,
        calls=calls,
    )
    if customer_key and provider_name == Agent.Provider.ANTHROPIC:  # the per-customer limit is on the model's tokens
        shared_limits.customer_tokens_add(customer_key, input_tokens + output_tokens)
    metrics.MODEL_TOKENS.labels(model=model_name, direction="input").inc(input_tokens)
    metrics.MODEL_TOKENS.labels(model=model_name, direction="output").inc(output_tokens)
    metrics.MODEL_COST_YEN.labels(model=model_name).inc(float(cost))
    return cost
