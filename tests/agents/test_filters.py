import pytest

from apps.agents.filters import reply_filter


@pytest.mark.parametrize(
    "claim",
    [
        "私は人間です。",
        "わたしは本物の店員です。",
        "AIではありません。",
        "青いブレザーを着てお待ちしています。",
        "直接お渡しします。",
        "今から届けに行きます。",
        "I am a real person.",
        "I'm not an AI.",
        "I'm wearing a blue blazer.",
        "I'll meet you at the machine.",
        "It's in my office.",
    ],
)
def test_claims_of_being_human_or_present_are_removed_and_replaced_by_the_truth(claim):
    language = "en" if claim.isascii() else "ja"

    filtered = reply_filter(
        f"コーラは150円です。{claim}" if language == "ja" else f"Cola is 150 yen. {claim}", language=language
    )

    assert claim.strip("。.") not in filtered.text
    assert filtered.removed == ["human_claim"]
    assert "150" in filtered.text and "AI" in filtered.text


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("電話は 03-1234-5678 まで", "03-1234-5678"),
        ("090-1234-5678 に電話して", "090-1234-5678"),
        ("mail: hanako@example.com", "hanako@example.com"),
        ("カード 4111 1111 1111 1111", "4111 1111 1111 1111"),
    ],
)
def test_phone_numbers_emails_and_card_numbers_never_leave(text, leak):
    filtered = reply_filter(text)

    assert leak not in filtered.text
    assert filtered.removed == ["personal_data_or_secret"]


def test_an_ordinary_reply_is_untouched():
    text = "おすすめは緑茶（130円）です。注文番号 20261123 でお受けしました。"

    assert reply_filter(text).text == text
    assert reply_filter(text).removed == []
