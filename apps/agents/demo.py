"""Demo personas and agents for `seed_demo`, from fixtures/demo/personas.yaml: three Japanese shopkeepers, a
procurement and an analytics agent.

The agents are created on the Anthropic provider, so a key in `.env` alone turns the model on; without one the
routing answers offline and records `no_api_key`. A rerun leaves existing agents' provider alone (see
docs/operations.md)."""

from django.conf import settings

from apps.agents.models import Agent, Persona, Personality, Role, Tone
from apps.agents.routing import model_for
from apps.agents.tools.registry import tool_names_for_kind
from apps.core.demo import demo_fixture


def seed(*, stdout, options: dict) -> None:
    fixture = demo_fixture("personas")
    for name, fragment in fixture["personalities"].items():
        Personality.objects.get_or_create(name=name, defaults={"prompt_fragment": fragment})
    for name, fragment in fixture["roles"].items():
        Role.objects.get_or_create(name=name, defaults={"prompt_fragment": fragment})
    for name, tone in fixture["tones"].items():
        Tone.objects.get_or_create(
            name=name, defaults={"prompt_fragment": tone["prompt"], "register": tone["register"]}
        )
    for spec in fixture["personas"]:
        fields = {k: v for k, v in spec.items() if k not in ("name", "personalities", "roles", "tones")}
        persona, created = Persona.objects.get_or_create(name=spec["name"], defaults=fields)
        if created:
            persona.personalities.set(Personality.objects.filter(name__in=spec["personalities"]))
            persona.roles.set(Role.objects.filter(name__in=spec["roles"]))
            persona.tones.set(Tone.objects.filter(name__in=spec["tones"]))
    for spec in fixture["agents"]:
        Agent.objects.get_or_create(
            name=spec["name"],
            defaults={
                "kind": spec["kind"],
                "provider": Agent.Provider.ANTHROPIC,
                "persona": Persona.objects.filter(name=spec["persona"]).first() if spec["persona"] else None,
                "enabled_tools": tool_names_for_kind(spec["kind"]),
            },
        )
    names = ", ".join(spec["name"] for spec in fixture["agents"])
    stdout.write(f"  agents: {len(fixture['agents'])} ({names}), personas: {len(fixture['personas'])}")
    stdout.write(answering_model_line())


def shopkeeper_name() -> str:
    """The demo's shopkeeper agent: the first agent in personas.yaml."""
    return demo_fixture("personas")["agents"][0]["name"]


def answering_model_line() -> str:
    """Which provider answers the demo shopkeeper's turns, as `make run` prints it."""
    shopkeeper = Agent.objects.filter(name=shopkeeper_name()).first()
    if shopkeeper is None or shopkeeper.provider != Agent.Provider.ANTHROPIC:
        return "model: offline rule-based (the shopkeeper is set to the offline provider)"
    if not settings.ANTHROPIC_API_KEY:
        return "model: offline rule-based (no ANTHROPIC_API_KEY)"
    return f"model: Anthropic ({model_for(shopkeeper, budget_percent=0)})"
