"""Customers' pictures: the media type is read from the bytes, the model's limits are kept, and a picture counts
towards the context window so older messages still fold away."""

import io

import pytest
from PIL import Image

from apps.agents.context import conversation_window
from apps.agents.images import MAX_IMAGE_TOKENS, chat_image
from apps.agents.providers.base import ChatMessage


def picture(kind: str, size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "media_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_the_four_formats_the_model_reads_are_told_by_their_bytes(kind, media_type):
    image = chat_image(picture(kind))

    assert (image.media_type, image.width, image.height, image.problem) == (media_type, 300, 200, "")
    assert image.tokens == 300 * 200 // 750


@pytest.mark.parametrize("kind", ["BMP", "TIFF", "ICO"])
def test_other_formats_are_not_sent(kind):
    image = chat_image(picture(kind, (32, 32)))

    assert image.media_type == "" and image.problem == "image_unsupported_type" and image.tokens == 0


def test_a_large_photo_is_estimated_as_the_model_scales_it_and_an_unreadable_header_as_the_constant():
    assert chat_image(picture("JPEG", (4000, 3000))).tokens == MAX_IMAGE_TOKENS
    damaged = chat_image(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    assert (damaged.media_type, damaged.width, damaged.tokens) == ("image/jpeg", 0, MAX_IMAGE_TOKENS)


def test_a_picture_folds_older_messages_away_like_a_long_text(shopkeeper, settings):
    settings.LLM_CONTEXT_TOKEN_BUDGET = 1000
    older = [
        ChatMessage(role="user", text="コーラはありますか？" * 10),
        ChatMessage(role="assistant", text="コーラは150円です。" * 10),
    ]
    photo = chat_image(picture("PNG", (1000, 1000)))
    with_text = conversation_window(
        agent=shopkeeper, conversation_id=None, history=[*older, ChatMessage(role="user", text="（画像）")]
    )
    with_picture = conversation_window(
        agent=shopkeeper, conversation_id=None, history=[*older, ChatMessage(role="user", text="（画像）", image=photo)]
    )

    assert len(with_text.messages) == 3 and with_text.prompt_addition == ""
    assert [m.image for m in with_picture.messages] == [photo]
    assert "コーラはありますか" in with_picture.prompt_addition  # folded into the summary
