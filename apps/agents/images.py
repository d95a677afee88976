"""Customers' pictures as a model may see them: the media type read from the bytes' own signature (never from a
header or a file name), the limits past which a picture is not sent, and its token estimate for the context window.
"""

import io
from dataclasses import dataclass

# The Messages API refuses an image whose base64 text passes 5 MB (4 characters for every 3 bytes) or whose side
# passes 8,000 pixels.
MAX_IMAGE_BYTES = 5 * 1024 * 1024 // 4 * 3
MAX_IMAGE_SIDE = 8000
# Anthropic scales a large picture down to about 1.15 megapixels: at width × height / 750, about 1,600 tokens. Also the
# estimate when the size cannot be read.
MAX_IMAGE_TOKENS = 1600

_SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def media_type(data: bytes) -> str:
    """image/jpeg, image/png, image/gif or image/webp by the bytes' signature; "" for anything else."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for signature, kind in _SIGNATURES if data.startswith(signature)), "")


@dataclass(frozen=True)
class ChatImage:
    """A picture a customer sent, with what was read from its bytes."""

    data: bytes
    media_type: str  # "" when it is none of the four formats the model reads
    width: int = 0  # 0: not known
    height: int = 0

    @property
    def problem(self) -> str:
        """Why the model is not sent this picture, as the decision log names it ("" when it is sent)."""
        if len(self.data) > MAX_IMAGE_BYTES or max(self.width, self.height) > MAX_IMAGE_SIDE:
            return "image_too_large"
        if not self.media_type:
            return "image_unsupported_type"
        return ""

    @property
    def tokens(self) -> int:
        if self.problem:
            return 0  # not sent: the model reads a line of text instead
        if self.width and self.height:
            return max(1, min(self.width * self.height // 750, MAX_IMAGE_TOKENS))
        return MAX_IMAGE_TOKENS

    @property
    def note(self) -> str:
        """What the model reads in place of a picture it is not sent."""
        why = {"image_too_large": "大きすぎる", "image_unsupported_type": "読めない形式の"}[self.problem]
        return f"（お客様が{why}画像を送りました。内容は見られません。どんなものか文字で教えてくださるようお願いしてください）"


def chat_image(data: bytes) -> ChatImage:
    """The picture in `data`; its size is read from the header alone (nothing is decoded)."""
    kind = media_type(data)
    width = height = 0
    if kind:
        from PIL import Image  # Pillow loads with the first picture (the start-up rule in docs/architecture.md)

        try:
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
        except (OSError, ValueError, Image.DecompressionBombError):
            pass  # a damaged header: the size stays unknown and the estimate is the constant
    return ChatImage(data=data, media_type=kind, width=width, height=height)


def image_flags(messages: list, *, accepts_images: bool) -> list[str]:
    """Decision-log flags for the pictures among `messages` (ChatMessage) that the model did not see."""
    images = [message.image for message in messages if message.image is not None]
    return sorted({image.problem if accepts_images else "image_not_seen" for image in images} - {""})
