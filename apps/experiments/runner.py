"""What runs a variant: its world (the default shop or this shop's twin) and its agent (a baseline or a provider
through the tool adapter). No database here beyond reading the variant."""

from apps.agents.models import Agent
from apps.agents.providers import PROVIDERS
from apps.core.errors import ValidationError
from apps.experiments.adapter import ProviderAgent, sim_agent
from apps.experiments.calibration import world_from_parameters
from apps.experiments.models import Variant
from apps.experiments.offline_procurement import OfflineProcurementProvider
from apps.experiments.sim.agents import make_agent
from apps.experiments.sim.world import World

OFFLINE_PARAMETERS = ("markup_permille", "cover_days")


def world_for_variant(variant: Variant) -> World:
    return world_from_parameters(variant.calibration.parameters) if variant.calibration_id else World()


def provider_for_variant(variant: Variant):
    if variant.provider == Agent.Provider.OFFLINE:
        unknown = set(variant.parameters) - set(OFFLINE_PARAMETERS)
        if unknown:
            raise ValidationError(
                f"Unknown parameters for the offline agent: {', '.join(sorted(unknown))}.",
                details={"allowed": list(OFFLINE_PARAMETERS)},
            )
        return OfflineProcurementProvider(**{k: int(v) for k, v in variant.parameters.items()})
    provider = PROVIDERS.get(variant.provider)
    if provider is None:
        raise ValidationError(f"The {variant.provider} provider is not configured on this server.")
    return provider()


def agent_for_variant(variant: Variant, world: World):
    if variant.agent_kind != Variant.Kind.LLM:
        return make_agent(variant.agent_kind, world)
    return ProviderAgent(
        world=world,
        provider=provider_for_variant(variant),
        agent=sim_agent(persona=variant.persona, provider=variant.provider),
        step_budget=variant.step_budget,
    )
