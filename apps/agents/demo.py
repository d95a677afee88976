"""Demo personas and agents for `seed_demo`: three Japanese shopkeepers, a procurement and an analytics agent.

The agents are created on the Anthropic provider, so a key in `.env` alone turns the model on; without one the
routing answers offline and records `no_api_key`. A rerun leaves existing agents' provider alone (see
docs/operations.md)."""

from django.conf import settings

from apps.agents.models import Agent, Persona, Personality, Role, Tone
from apps.agents.routing import model_for
from apps.agents.tools.registry import tool_names_for_kind

PERSONALITIES = {
    "明るい": "明るく前向きで、お客様の一日が少し良くなるように話す。",
    "落ち着いた": "落ち着いて、要点を短く丁寧に伝える。",
    "物知り": "商品の産地や味の特徴など、ちょっとした豆知識を一言添える。",
}
ROLES = {
    "店番": "本社の自販機コーナーの店番として、商品探し・在庫・価格・購入を手伝う。",
    "案内係": "初めてのお客様に、自販機の使い方と支払い方法を案内する。",
}
TONES = {
    "丁寧": ("です・ます調で丁寧に話す。", Tone.Register.POLITE),
    "フレンドリー": ("親しみやすい、くだけた口調で話す。", Tone.Register.CASUAL),
}
PERSONAS = [
    {
        "name": "ハル",
        "gender": Persona.Gender.FEMALE,
        "description": "本社1Fの自販機コーナーの店番AI。",
        "background": "新しいお菓子と季節限定の飲み物が大好き。",
        "greeting": "いらっしゃいませ！ハルです。今日は何になさいますか？",
        "personalities": ["明るい"],
        "roles": ["店番"],
        "tones": ["丁寧"],
    },
    {
        "name": "ソウタ",
        "gender": Persona.Gender.MALE,
        "description": "気さくな店番AI。",
        "background": "お茶とコーヒーの違いを語りだすと止まらない。",
        "greeting": "やあ、ソウタだよ。何か飲む？",
        "personalities": ["物知り"],
        "roles": ["店番"],
        "tones": ["フレンドリー"],
    },
    {
        "name": "ミドリ",
        "gender": Persona.Gender.UNSPECIFIED,
        "description": "初めての方向けの案内係AI。",
        "background": "",
        "greeting": "こんにちは、ミドリと申します。ご案内いたしますね。",
        "personalities": ["落ち着いた"],
        "roles": ["店番", "案内係"],
        "tones": ["丁寧"],
    },
]
AGENTS = [
    ("店番ハル", Agent.Kind.SHOPKEEPER, "ハル"),
    ("仕入れ係", Agent.Kind.PROCUREMENT, None),
    ("分析係", Agent.Kind.ANALYTICS, None),
]


def seed(*, stdout, options: dict) -> None:
    for name, fragment in PERSONALITIES.items():
        Personality.objects.get_or_create(name=name, defaults={"prompt_fragment": fragment})
    for name, fragment in ROLES.items():
        Role.objects.get_or_create(name=name, defaults={"prompt_fragment": fragment})
    for name, (fragment, register) in TONES.items():
        Tone.objects.get_or_create(name=name, defaults={"prompt_fragment": fragment, "register": register})
    for spec in PERSONAS:
        fields = {k: v for k, v in spec.items() if k not in ("name", "personalities", "roles", "tones")}
        persona, created = Persona.objects.get_or_create(name=spec["name"], defaults=fields)
        if created:
            persona.personalities.set(Personality.objects.filter(name__in=spec["personalities"]))
            persona.roles.set(Role.objects.filter(name__in=spec["roles"]))
            persona.tones.set(Tone.objects.filter(name__in=spec["tones"]))
    for name, kind, persona_name in AGENTS:
        Agent.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "provider": Agent.Provider.ANTHROPIC,
                "persona": Persona.objects.filter(name=persona_name).first() if persona_name else None,
                "enabled_tools": tool_names_for_kind(kind),
            },
        )
    stdout.write(
        f"  agents: {len(AGENTS)} ({', '.join(name for name, _kind, _p in AGENTS)}), personas: {len(PERSONAS)}"
    )
    stdout.write(answering_model_line())


def answering_model_line() -> str:
    """Which provider answers the demo shopkeeper's turns, as `make run` prints it."""
    shopkeeper = Agent.objects.filter(name=AGENTS[0][0]).first()
    if shopkeeper is None or shopkeeper.provider != Agent.Provider.ANTHROPIC:
        return "model: offline rule-based (the shopkeeper is set to the offline provider)"
    if not settings.ANTHROPIC_API_KEY:
        return "model: offline rule-based (no ANTHROPIC_API_KEY)"
    return f"model: Anthropic ({model_for(shopkeeper, budget_percent=0)})"
