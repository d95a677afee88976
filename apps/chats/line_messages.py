"""LINE message objects the bot sends: text split to LINE's limits, quick replies, the product carousel."""

from urllib.parse import urlencode

from django.utils.translation import gettext as _
from linebot.v3.messaging import (
    FlexMessage,
    MessageAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
)

MAX_TEXT_LENGTH = 5000  # LINE's limit per text message
MAX_MESSAGES = 5  # per reply or push request
MAX_CAROUSEL_BUBBLES = 12
ELLIPSIS = "…"


def postback(label: str, **data) -> PostbackAction:
    return PostbackAction(label=label[:20], data=urlencode(data), display_text=label)


def say(label: str, text: str | None = None) -> MessageAction:
    return MessageAction(label=label[:20], text=text or label)


def quick_reply(actions: list) -> QuickReply:
    return QuickReply(items=[QuickReplyItem(action=action) for action in actions[:13]])


def text_chunks(text: str, *, max_messages: int = MAX_MESSAGES) -> list[str]:
    """`text` in pieces of at most 5,000 characters, broken at a line end where one is near; at most `max_messages`
    pieces, the last one cut short with an ellipsis if the text is longer still."""
    chunks: list[str] = []
    rest = text.strip() or " "
    while rest and len(chunks) < max_messages:
        if len(rest) <= MAX_TEXT_LENGTH:
            chunks.append(rest)
            rest = ""
            break
        cut = rest.rfind("\n", MAX_TEXT_LENGTH // 2, MAX_TEXT_LENGTH)
        cut = cut if cut > 0 else MAX_TEXT_LENGTH
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        chunks[-1] = chunks[-1][: MAX_TEXT_LENGTH - len(ELLIPSIS)] + ELLIPSIS
    return chunks


def text_messages(text: str, *, actions: list | None = None, max_messages: int = MAX_MESSAGES) -> list[TextMessage]:
    """The text as LINE messages; the quick reply `actions` ride on the last one (LINE shows only the last's)."""
    messages = [TextMessage(text=chunk) for chunk in text_chunks(text, max_messages=max_messages)]
    if actions:
        messages[-1].quick_reply = quick_reply(actions)
    return messages


def _bubble(product: dict) -> dict:
    available = product["available"]
    badge = _("在庫あり（残り%(n)d）") % {"n": product["quantity"]} if available else _("売り切れ")
    return {
        "type": "bubble",
        "size": "micro",
        "body": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {"type": "text", "text": product["name"], "weight": "bold", "wrap": True},
                {"type": "text", "text": f"{product['price_yen']:,}円（税込）", "size": "sm"},
                {"type": "text", "text": badge, "size": "xs", "color": "#1a7f37" if available else "#cf222e"},
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "contents": [
                {
                    "type": "button",
                    "style": "primary" if available else "secondary",
                    "action": {
                        "type": "postback",
                        "label": _("購入する") if available else _("入荷をリクエスト"),
                        "data": urlencode(
                            {"action": "buy", "slot": product["slot"]}
                            if available
                            else {"action": "request", "name": product["name"]}
                        ),
                    },
                }
            ],
        },
    }


def products_carousel(products: list[dict]) -> FlexMessage:
    """A Flex carousel of products (rows of `machine_products`), one bubble each with price, stock and a buy button."""
    listed = [product for product in products if product.get("sku")][:MAX_CAROUSEL_BUBBLES]
    return FlexMessage.from_dict(
        {
            "type": "flex",
            "altText": _("商品一覧：") + "、".join(product["name"] for product in listed),
            "contents": {"type": "carousel", "contents": [_bubble(product) for product in listed]},
        }
    )
