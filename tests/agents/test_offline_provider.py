"""The offline provider: intent rules in Japanese and English, answered in the persona's voice through the tools."""

import pytest

from apps.agents.models import Case, Tone
from apps.agents.providers.base import ChatMessage
from apps.agents.providers.offline import detect_intent
from apps.agents.runtime import agent_turn_run
from apps.inventory.models import ProductRequest


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("こんにちは", "greeting"),
        ("Hello there", "greeting"),
        ("何がありますか？", "search"),
        ("Do you have anything sweet?", "search"),
        ("コーラの在庫ある？", "stock"),
        ("How many colas are left?", "stock"),
        ("緑茶はいくら？", "price"),
        ("How much is the tea?", "price"),
        ("おすすめは？", "recommend"),
        ("What do you recommend?", "recommend"),
        ("コーラください", "buy"),
        ("I'd like to buy a cola", "buy"),
        ("ドクターペッパーを入荷してほしい", "product_request"),
        ("Could you stock Dr Pepper please?", "product_request"),
        ("お金を入れたのに商品が出てこない", "complaint"),
        ("The machine is broken", "complaint"),
        ("今日はいい天気ですね", "small_talk"),
        ("How are you today?", "small_talk"),
        ("ふむ", "unknown"),
        ("qwerty", "unknown"),
    ],
)
def test_intents_in_japanese_and_english(text, intent):
    assert detect_intent(text) == intent


def say(agent, context, text):
    return agent_turn_run(agent=agent, context=context, history=[ChatMessage(role="user", text=text)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("こんにちは", "いらっしゃいませ！何かお探しですか？"),
        ("何がありますか？", "こちらの自販機には、緑茶（130円）、コーラ（150円） がございます。"),
        ("コーラの在庫ある？", "コーラは、この自販機に残り8個ございます。"),
        ("緑茶はいくら？", "緑茶は130円（税込）でございます。"),
        ("How much is the cola?", "Cola is 150 yen, tax included."),
        ("How many colas are left?", "There are 8 left of Cola in this machine."),
        ("おすすめは？", "おすすめは コーラ（150円）、緑茶（130円） です。"),
        ("コーラを2本ください", "コーラ×2、合計300円（税込）です。画面で内容をご確認のうえ、お支払いください。"),
        (
            "ふむ",
            "すみません、よく分かりませんでした。商品の検索、在庫や価格の確認、おすすめ、ご購入のお手伝いができます。",
        ),
    ],
)
def test_answers_come_from_the_tools_in_the_polite_voice(shopkeeper, context, text, expected):
    assert say(shopkeeper, context, text).text == expected


def test_a_casual_persona_speaks_casually(shopkeeper, context):
    casual = Tone.objects.create(
        name="フレンドリー", register=Tone.Register.CASUAL, prompt_fragment="くだけた口調で話す。"
    )
    shopkeeper.persona.tones.add(casual)

    assert say(shopkeeper, context, "緑茶はいくら？").text == "緑茶は130円（税込）だよ。"


def test_a_product_request_is_recorded(shopkeeper, context):
    outcome = say(shopkeeper, context, "ドクターペッパーを入荷してほしい")

    assert ProductRequest.objects.get().name == "ドクターペッパー"
    assert "ドクターペッパー" in outcome.text


def test_a_complaint_is_passed_to_staff(shopkeeper, context):
    outcome = say(shopkeeper, context, "お金を入れたのに商品が出てこない")

    case = Case.objects.get()
    assert (case.text, case.kind, case.status) == ("お金を入れたのに商品が出てこない", "nothing_came_out", "open")
    assert f"受付番号 {case.pk}" in outcome.text and "スタッフに伝えました" in outcome.text


def test_a_small_coupon_request_is_granted_once(shopkeeper, context):
    first = say(shopkeeper, context, "10%オフのクーポンください")
    second = say(shopkeeper, context, "もう一枚クーポンください")

    assert first.actions[0]["type"] == "coupon" and first.actions[0]["percent"] == 10
    assert "クーポンは1回の会話につき1枚まで" in second.text
