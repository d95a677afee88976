"""What runs a variant: its world (the default shop or this shop's twin) and its agent (a baseline or a provider
through the tool adapter). No database here beyond reading the variant."""

from apps.agents.models import Agent
from apps.agents.routing import provider_choice
from apps.core.errors import ValidationError
from apps.experiments.adapter import ProviderAgent, sim_agent
from apps.experiments.calibration import world_from_parameters
from apps.experiments.models import Variant
from apps.experiments.offline_procurement import OfflineProcurementProvider
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.world import World

# What `Variant.parameters` may hold for an LLM variant, by provider.
OFFLINE_PARAMETERS = ("markup_permille", "cover_days")
MODEL_PARAMETERS = ("model_name",)


def world_for_variant(variant: Variant) -> World:
    return world_from_parameters(variant.calibration.parameters) if variant.calibration_id else World()


def _check_parameters(variant: Variant, allowed: tuple[str, ...]) -> None:
    unknown = set(variant.parameters) - set(allowed)
    if unknown:
        raise ValidationError(
            f"Unknown parameters for a {variant.provider} agent: {', '.join(sorted(unknown))}.",
            details={"allowed": list(allowed)},
        )


def _provider(variant: Variant, agent: Agent):
    if variant.provider == Agent.Provider.OFFLINE:
        _check_parameters(variant, OFFLINE_PARAMETERS)
        return OfflineProcurementProvider(**{name: int(value) for name, value in variant.parameters.items()})
    _check_parameters(variant, MODEL_PARAMETERS)
    # The live choice (key, budget, breaker, model), so the simulator meets the same model client as the shop. Live,
    # it falls back to the customer-chat offline provider; here that would be a different experiment, so it refuses.
    choice = provider_choice(agent=agent, customer_key="")
    if choice.fallback_reason or choice.provider.name != variant.provider:
        reason = choice.fallback_reason or "not configured"
        raise ValidationError(f"The {variant.provider} provider cannot run on this server now ({reason}).")
    return choice.provider


def agent_for_variant(variant: Variant, world: World):
    if variant.agent_kind != Variant.Kind.LLM:
        return make_agent(variant.agent_kind, world)
    agent = sim_agent(
        persona=variant.persona, provider=variant.provider, model_name=variant.parameters.get("model_name", "")
    )
    return ProviderAgent(world=world, provider=_provider(variant, agent), agent=agent, step_budget=variant.step_budget)
