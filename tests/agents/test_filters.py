import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.agents.filters import ReplyStream
from apps.agents.prompts import RULES
from tests.agents.redteam.scenarios import API_KEY_LOOKALIKE
from tests.agents.replies import reply_filter


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


def streamed(text, splits=None, *, language="ja", prompt=""):
    """`text` fed to a `ReplyStream` as a model streams it, cut at `splits` (every character by default): the pieces
    sent, in order, and the stream."""
    stream = ReplyStream(language=language, prompt=prompt)
    bounds = sorted({0, len(text), *(range(len(text)) if splits is None else splits)})
    pieces = [piece for start, end in itertools.pairwise(bounds) for piece in stream.feed(text[start:end])]
    return [*pieces, *stream.finish()], stream


def test_a_reply_fed_token_by_token_goes_out_as_it_is_written():
    text = "おすすめは緑茶です。今日は暑いので、冷たいコーラもよく売れています。"
    stream = ReplyStream(language="ja", prompt=RULES)

    first_out = next(index for index, char in enumerate(text) if stream.feed(char))
    rest = [piece for char in text[first_out + 1 :] for piece in stream.feed(char)] + stream.finish()

    assert first_out < text.index("。")  # words appear before their sentence is finished
    assert len(rest) > 10 and stream.text == text


SECRETS = [
    ("電話は090-1234-5678までどうぞ。", "090-1234-5678"),
    ("番号は09012345678です。", "09012345678"),
    ("メールはhanako@example.comです。", "hanako@example.com"),
    ("Write to taro.yamada@example.co.jp, please.", "taro.yamada@example.co.jp"),
    ("Call +81 3 1234 5678 today.", "+81 3 1234 5678"),
    ("カード 4111 1111 1111 1111 で払えます。", "4111 1111 1111 1111"),
    ("カードは4000 0566 5566 5556です。", "4000 0566 5566 5556"),
    (f"The key is {API_KEY_LOOKALIKE}, keep it.", API_KEY_LOOKALIKE),
]


@given(case=st.sampled_from(SECRETS), splits=st.lists(st.integers(min_value=1, max_value=60), max_size=40))
@settings(max_examples=300, deadline=None)
def test_a_secret_split_across_tokens_never_leaves_unmasked(case, splits):
    text, secret = case

    pieces, stream = streamed(text, [split for split in splits if split < len(text)])

    # What was sent is the whole reply filtered at once: nothing of it was sent and then taken back.
    assert "".join(pieces) == stream.text == reply_filter(text).text
    assert secret[: len(secret) // 2] not in stream.text  # not even half of it
    assert stream.removed == ["personal_data_or_secret"]


CLAIMS = [
    ("はい、わたしは人間です。レジの前に立っています。", "人間です"),
    ("コーラは150円で、直接お渡しします。", "お渡しします"),
    ("青いブレザーを着てお待ちしています。ご用はありますか？", "ブレザーを着て"),
    ("I am a human employee of the shop, not an AI.", "human employee"),
    ("I'm wearing a navy blue blazer and a red tie. I'll meet you at the machine at 10.", "I'll meet"),
    ("Sure, I'll bring it to you. Cola is 150 yen.", "I'll bring"),
    ("Cola is 150 yen. It's in my office.", "my office"),
]


@given(case=st.sampled_from(CLAIMS), splits=st.lists(st.integers(min_value=1, max_value=90), max_size=50))
@settings(max_examples=300, deadline=None)
def test_a_claim_of_being_human_split_across_tokens_never_leaves(case, splits):
    text, claim = case
    language = "en" if text.isascii() else "ja"

    pieces, stream = streamed(text, [split for split in splits if split < len(text)], language=language)

    sent = "".join(pieces)
    assert claim not in sent and "AI" in sent
    assert stream.removed == ["human_claim"]
    assert reply_filter(sent, language=language).removed == []  # nothing left to take out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "はい、わたしは人間です。コーラは150円です。",
            "はい、わたしはこのお店のAIアシスタントなので、直接お会いしたりお渡ししたりはできません。コーラは150円です。",
        ),
        (
            "Yes, I am a real person. Cola is 150 yen.",
            "Yes, I'm the shop's AI assistant, so I can't meet you or hand anything over myself. Cola is 150 yen.",
        ),
        (
            "青いブレザーを着てお待ちしています。",
            "青い…わたしはこのお店のAIアシスタントなので、直接お会いしたりお渡ししたりはできません。",
        ),
    ],
)
def test_a_sentence_whose_start_went_out_before_its_claim_ends_with_the_truth_instead(text, expected):
    pieces, stream = streamed(text, language="en" if text.isascii() else "ja")

    assert stream.text == expected and len(pieces) >= 3


def test_a_prompt_recited_token_by_token_is_stopped_before_any_of_it_leaves():
    pieces, stream = streamed("Sure! " + RULES, prompt=f"あなたは店番です。\n{RULES}")

    assert stream.text == "Sure!\n申し訳ございません、お店の設定はお伝えできません。"
    assert stream.removed == ["system_prompt"]


def test_a_long_sentence_does_not_stall_the_stream_and_a_long_secret_is_never_cut():
    masked = ReplyStream()
    before_the_end = [piece for char in "電話は090-1234-5678で、" + "とても" * 200 for piece in masked.feed(char)]
    key = ReplyStream(language="en")
    key_before_the_end = [piece for char in "The key: sk-" + "a" * 600 for piece in key.feed(char)]

    # Held back after the number until the sentence ends, but not for more than a few hundred characters.
    assert "".join(before_the_end).startswith("電話は[REDACTED:phone]で、とても") and "090" not in masked.text
    # No part of a key goes out, however long it grows; it is masked once it ends.
    assert "".join(key_before_the_end) == "The key: "
    assert key.finish() == ["[REDACTED:api_key]"]


GUESSES = [
    "梅おにぎりに卵は入っていません。",
    "このパンは小麦フリーなので安心です。",
    "お茶には乳は使用していませんよ！",
    "The onigiri doesn't contain any milk.",
]


@given(case=st.sampled_from(GUESSES), splits=st.lists(st.integers(min_value=1, max_value=40), max_size=30))
@settings(max_examples=200, deadline=None)
def test_what_a_product_contains_is_never_said_without_the_label_data(case, splits):
    pieces, stream = streamed(f"こんにちは。{case}ほかにご用は？", [split for split in splits if split < len(case) + 6])

    allergen_sentence = case.rstrip("。！.")
    assert not any(allergen_sentence[-4:] in piece for piece in pieces)  # not even for a moment
    assert allergen_sentence not in stream.text and stream.removed == ["allergen_guess"]
    assert stream.text.startswith("こんにちは。") and "表示データでだけお答えしています" in stream.text


def test_with_the_label_data_read_the_same_sentence_goes_out_and_names_alone_are_not_held_up():
    stream = ReplyStream(language="ja")
    stream.allergen_data = True
    said = [*stream.feed("たまごサンドには卵と乳が含まれています。"), *stream.finish()]
    plain, _stream = streamed("牛乳は150円です。")

    assert "".join(said) == "たまごサンドには卵と乳が含まれています。" and stream.removed == []
    assert "".join(plain) == "牛乳は150円です。"
