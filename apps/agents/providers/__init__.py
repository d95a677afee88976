"""Model providers behind one interface (`base.Provider`); `provider_for` picks the one an agent uses."""

from apps.agents.models import Agent
from apps.agents.providers.base import Provider
from apps.agents.providers.offline import OfflineProvider

# The Anthropic provider registers here (when ANTHROPIC_API_KEY is set) with the LLM issue; until then, and whenever
# no key is set, every agent runs on the offline provider.
PROVIDERS: dict[str, type] = {Agent.Provider.OFFLINE: OfflineProvider}


def provider_for(agent: Agent) -> Provider:
    return PROVIDERS.get(agent.provider, OfflineProvider)()
