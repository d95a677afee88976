"""Prometheus metrics of the model runtime.

The dashboard already counts per-agent tokens, an estimated cost, turn latency and refused tool calls from the
decision log (`vendbot_ai_*`, `vendbot_blocked_tool_calls` in apps/dashboard/metrics.py); nothing here repeats them.
These are what only the runtime knows: tokens and exact cost per model from the price table, time to first words,
fallbacks to the offline provider, retries and breaker trips, and the time spent inside the model vendor's SDK (what
bench/llm_overhead.py takes off a turn's time to get VendBot's own).
"""

from prometheus_client import Counter, Histogram

MODEL_TOKENS = Counter("vendbot_agent_model_tokens", "Model tokens by model and direction", ["model", "direction"])
MODEL_COST_YEN = Counter("vendbot_agent_model_cost_yen", "Model cost in yen from the settings' price table", ["model"])
FIRST_WORDS_SECONDS = Histogram(
    "vendbot_agent_first_words_seconds",
    "Time from the customer's message to the first words sent back",
    ["agent_kind"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 15, 30),
)
FALLBACKS = Counter(
    "vendbot_agent_fallbacks", "Turns answered by the offline provider instead of the model", ["agent_kind", "reason"]
)
PROVIDER_RETRIES = Counter("vendbot_agent_provider_retries", "Model calls retried after 429/5xx/529", ["status"])
BREAKER_OPENED = Counter("vendbot_agent_breaker_opened", "Times the model circuit breaker opened")
MODEL_SDK_SECONDS = Counter(
    "vendbot_agent_model_sdk_seconds",
    "Seconds spent inside the model SDK's calls: sending, waiting for the model, reading and parsing its stream",
)
