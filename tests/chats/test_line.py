import base64
import hashlib
import hmac
import io
import json
import logging
import time
import uuid
from dataclasses import dataclass

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.conf import settings
from PIL import Image

from apps.agents.images import MAX_IMAGE_BYTES
from apps.agents.models import AgentTurn
from apps.agents.shared_limits import CircuitBreaker
from apps.chats.models import Conversation, ConversationTag, Customer, LineEvent, Message
from apps.inventory.models import ProductRequest, Sale
from tests.agents.fake_anthropic import Reply, text
from tests.chats.fake_line import PNG
from tests.factories import CouponFactory
from vendbot.asgi import application

USER = "U" + "0123456789abcdef" * 2


def event(kind="message", user=USER, reply_token=None, **fields):
    return {
        "type": kind,
        "mode": "active",
        "timestamp": 1700000000000,
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": user},
        **({"replyToken": reply_token} if reply_token else {}),
        **fields,
    }


def text_event(fake_line, text, **kwargs):
    token = fake_line.reply_token(uuid.uuid4().hex)
    return event(
        reply_token=token,
        message={"type": "text", "id": uuid.uuid4().hex[:12], "quoteToken": uuid.uuid4().hex, "text": text},
        **kwargs,
    )


def postback_event(fake_line, data):
    return event("postback", reply_token=fake_line.reply_token(uuid.uuid4().hex), postback={"data": data})


@dataclass
class WebhookAnswer:
    status_code: int
    body: bytes

    def json(self):
        return json.loads(self.body)


def webhook_request(*events, secret=None, signature=None, method="POST", body=None) -> HttpCommunicator:
    """A request to the real ASGI application (the webhook is a Channels consumer ahead of Django's views)."""
    if body is None:
        body = json.dumps({"destination": "Udest", "events": list(events)}, ensure_ascii=False).encode()
    if signature is None:
        key = (secret or settings.LINE_CHANNEL_SECRET).encode()
        signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    headers = [(b"content-type", b"application/json")]
    if signature:
        headers.append((b"x-line-signature", signature.encode()))
    return HttpCommunicator(application, method, "/line/webhook/", body=body, headers=headers)


def post_webhook(*events, **request) -> WebhookAnswer:
    """`webhook_request`'s answer, once the consumer is done (`**request`: its keyword arguments)."""
    communicator = webhook_request(*events, **request)

    async def answered_and_done():
        answer = await communicator.get_response(timeout=30)
        await communicator.wait(timeout=30)  # what the consumer does after answering: the queueing (eager: processing)
        return answer

    answer = async_to_sync(answered_and_done)()
    return WebhookAnswer(answer["status"], answer["body"])


@pytest.fixture
def consenting(fake_line, shop):
    post_webhook(postback_event(fake_line, "action=consent&value=yes"))
    return Customer.objects.get(line_user_id=USER)


@pytest.mark.parametrize("signature", ["", "forged", "wrong-secret"])
def test_unsigned_or_forged_webhooks_change_nothing(fake_line, shop, signature):
    if signature == "wrong-secret":
        response = post_webhook(text_event(fake_line, "こんにちは"), secret="not-the-channel-secret")
    else:
        response = post_webhook(text_event(fake_line, "こんにちは"), signature=signature or "")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert not LineEvent.objects.exists() and not Customer.objects.exists() and not Message.objects.exists()
    assert fake_line.requests == []


def test_bad_requests_get_a_json_error_and_change_nothing(fake_line, shop, settings):
    assert post_webhook(method="GET", signature="").status_code == 405
    not_line = post_webhook(body=b"[1, 2]")
    assert (not_line.status_code, not_line.json()["error"]["code"]) == (400, "invalid")
    too_large = post_webhook(body=b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "too_large")
    settings.LINE_CHANNEL_SECRET = ""
    unconfigured = post_webhook(text_event(fake_line, "こんにちは"), secret="anything")
    assert (unconfigured.status_code, unconfigured.json()["error"]["code"]) == (503, "line_not_configured")

    assert not LineEvent.objects.exists() and fake_line.requests == []


def test_acknowledgements_are_measured_for_prometheus(fake_line, shop, metrics_page):
    post_webhook(event("follow", reply_token=fake_line.reply_token("follow-token")))
    post_webhook(text_event(fake_line, "こんにちは"), signature="forged")

    metrics = metrics_page()
    assert 'vendbot_line_webhook_seconds_count{status="200"}' in metrics
    assert 'vendbot_line_webhook_seconds_count{status="400"}' in metrics


def test_follow_welcomes_with_consent_quick_replies_and_the_display_name_comes_with_consent(fake_line, shop):
    response = post_webhook(event("follow", reply_token=fake_line.reply_token("follow-token")))

    assert response.status_code == 200
    reply = fake_line.sent("/message/reply")[0]["body"]
    assert "友だち追加ありがとうございます" in reply["messages"][0]["text"]
    labels = [item["action"]["label"] for item in reply["messages"][-1]["quickReply"]["items"]]
    assert labels == ["同意する", "同意しない"]
    # Before consent neither the LINE id nor the name is stored, and LINE is not even asked for the name.
    assert (Customer.objects.get().display_name, Customer.objects.get().line_user_id) == ("", None)
    assert fake_line.sent(f"/v2/bot/profile/{USER}") == []
    post_webhook(postback_event(fake_line, "action=consent&value=yes"))
    assert (Customer.objects.get().display_name, Customer.objects.get().line_user_id) == ("テスト花子", USER)


def test_a_redelivered_event_is_processed_once(fake_line, consenting):
    first = text_event(fake_line, "こんにちは")

    assert post_webhook(first).status_code == 200
    redelivered = {**first, "deliveryContext": {"isRedelivery": True}}
    assert post_webhook(redelivered).status_code == 200

    assert Message.objects.filter(sender="customer", text="こんにちは").count() == 1
    assert len([t for t in fake_line.texts() if t]) == 2  # consent answer + one greeting reply
    assert LineEvent.objects.get(webhook_event_id=first["webhookEventId"]).status == "done"


def test_text_is_answered_by_the_agent_with_loading_animation_and_a_product_carousel(fake_line, consenting):
    post_webhook(text_event(fake_line, "何がありますか？"))

    assert fake_line.sent("/chat/loading/start")[0]["body"]["chatId"] == USER
    messages = fake_line.sent("/message/reply")[-1]["body"]["messages"]
    carousel = messages[-1]
    assert carousel["type"] == "flex" and carousel["contents"]["type"] == "carousel"
    names = [bubble["body"]["contents"][0]["text"] for bubble in carousel["contents"]["contents"]]
    assert names == ["コーラ", "緑茶"]
    conversation = Conversation.objects.get(channel="line")
    assert conversation.customer == consenting and conversation.customer_key == f"cust:{consenting.pk}"


def test_without_consent_the_chat_asks_for_it_and_stores_nothing(fake_line, shop):
    post_webhook(text_event(fake_line, "コーラください"))

    assert "同意いただけますか" in fake_line.texts()[-1]
    assert not Conversation.objects.exists()


def test_an_expired_reply_token_falls_back_to_push(fake_line, consenting):
    stale = {**text_event(fake_line, "こんにちは"), "replyToken": "expired-token"}

    post_webhook(stale)

    push = fake_line.sent("/message/push")[-1]
    assert push["body"]["to"] == USER and push["headers"].get("X-Line-Retry-Key")


def test_unfollow_stops_pushes(fake_line, consenting):
    post_webhook(event("unfollow"))
    assert Customer.objects.get().push_opt_out

    post_webhook({**text_event(fake_line, "こんにちは"), "replyToken": "expired-token"})

    assert fake_line.sent("/message/push") == []


def test_429_and_5xx_are_retried_honouring_retry_after(fake_line, consenting):
    fake_line.fail_next("/message/reply", 429, retry_after="0")
    fake_line.fail_next("/message/reply", 503, retry_after="0")

    post_webhook(text_event(fake_line, "こんにちは"))

    assert [r for r in fake_line.sent("/message/reply")][-3:] and len(fake_line.sent("/message/reply")) == 4
    assert LineEvent.objects.filter(status="done").count() == 2


def test_more_than_20_messages_a_minute_get_one_polite_answer(fake_line, consenting):
    # The limit counts per clock minute: start the burst early in one (22 webhooks took over 15 s on a loaded machine).
    if time.time() % 60 > 30:
        time.sleep(61 - time.time() % 60)
    for number in range(22):
        post_webhook(text_event(fake_line, f"こんにちは{number}"))

    assert Message.objects.filter(sender="customer").count() == 20
    texts = fake_line.texts()
    assert sum("少し時間をおいて" in text for text in texts) == 1


def test_buy_postback_then_confirm_charges_once_with_the_buttons_key(fake_line, consenting):
    post_webhook(postback_event(fake_line, "action=buy&slot=A1"))
    options = fake_line.sent("/message/reply")[-1]["body"]["messages"][-1]["quickReply"]["items"]
    confirm = options[1]["action"]["data"]  # 2個

    post_webhook(postback_event(fake_line, confirm))
    post_webhook(postback_event(fake_line, confirm))  # tapped twice

    sale = Sale.objects.get()
    assert sale.channel == "line" and sale.customer_key == f"cust:{consenting.pk}" and sale.total_yen == 300
    assert sale.payment.method == "line_pay"
    receipt = fake_line.texts()[-1]
    # The receipt is a 適格簡易請求書: issuer, date, the reduced-rate mark and the tax per rate.
    assert "合計 300円" in receipt and "8%対象 300円（内消費税 22円）" in receipt
    assert "※ × 2" in receipt and "※は軽減税率（8%）対象商品です。" in receipt


def test_a_coupon_chosen_by_postback_applies_to_the_next_purchase(fake_line, consenting):
    CouponFactory(code="LINE10", kind="percent", value=10, max_uses_per_customer=1)
    post_webhook(postback_event(fake_line, "action=coupons"))
    assert "LINE10" in fake_line.texts()[-1]

    post_webhook(postback_event(fake_line, "action=coupon&code=LINE10"))
    post_webhook(postback_event(fake_line, "action=confirm_buy&slot=A1&qty=2&key=k1"))

    assert Sale.objects.get().discount_yen == 30
    assert "割引 -30円" in fake_line.texts()[-1]


def test_a_product_request_from_line_is_recorded_for_procurement(fake_line, consenting):
    post_webhook(text_event(fake_line, "リクエスト: 抹茶ラテ"))

    request = ProductRequest.objects.get()
    assert request.name == "抹茶ラテ" and request.channel == "line" and request.customer_key == consenting.key
    assert "抹茶ラテ" in fake_line.texts()[-1]


def picture(kind: str, size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (30, 140, 60)).save(out, kind)
    return out.getvalue()


def image_event(fake_line, message_id="98765"):
    return event(reply_token=fake_line.reply_token(uuid.uuid4().hex), message={"type": "image", "id": message_id})


def blocks(request, kind):
    return [block for message in request["messages"] for block in message["content"] if block["type"] == kind]


def test_a_picture_is_shown_to_the_model_and_its_answer_goes_back_to_the_customer(
    fake_line, consenting, model_shopkeeper, fake_anthropic
):
    photo = picture("PNG")
    fake_line.content, fake_line.content_type = photo, "image/jpeg"  # the header says JPEG; the bytes are a PNG
    fake_anthropic.then(Reply([text("緑色の缶ですね。緑茶なら130円でございます。")]))

    post_webhook(image_event(fake_line))

    assert fake_line.sent("/v2/bot/message/98765/content") and fake_line.sent("/chat/loading/start")
    request = fake_anthropic.requests[0]
    assert request["messages"][-1]["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(photo).decode()},
        },
        {"type": "text", "text": "（画像）"},
    ]
    assert fake_line.texts()[-1] == "緑色の缶ですね。緑茶なら130円でございます。"
    stored = Message.objects.get(sender="customer")
    assert stored.image.name.endswith(".png") and stored.image.read() == photo
    assert Message.objects.get(sender="assistant").text == "緑色の缶ですね。緑茶なら130円でございます。"
    turn = AgentTurn.objects.get()
    assert (turn.provider, turn.flags) == ("anthropic", [])


def test_a_follow_up_question_is_asked_with_the_newest_picture_only(
    fake_line, consenting, model_shopkeeper, fake_anthropic
):
    first, second = picture("JPEG"), picture("GIF")
    fake_anthropic.then(Reply([text("コーラですね。")]), Reply([text("緑茶ですね。")]), Reply([text("ございます。")]))
    fake_line.content = first
    post_webhook(image_event(fake_line, "111"))
    fake_line.content = second
    post_webhook(image_event(fake_line, "222"))

    post_webhook(text_event(fake_line, "これはありますか？"))

    images = blocks(fake_anthropic.requests[-1], "image")
    assert [(block["source"]["media_type"], block["source"]["data"]) for block in images] == [
        ("image/gif", base64.b64encode(second).decode())
    ]
    assert fake_line.texts()[-1] == "ございます。"


def test_a_picture_lost_from_storage_leaves_the_conversation_going(
    fake_line, consenting, model_shopkeeper, fake_anthropic
):
    fake_anthropic.then(Reply([text("コーラですね。")]), Reply([text("150円でございます。")]))
    post_webhook(image_event(fake_line))
    stored = Message.objects.get(sender="customer").image
    stored.storage.delete(stored.name)

    post_webhook(text_event(fake_line, "いくらですか？"))

    assert blocks(fake_anthropic.requests[-1], "image") == []
    assert fake_line.texts()[-1] == "150円でございます。"


def test_without_a_model_a_picture_gets_a_polite_request_for_words(fake_line, consenting):
    post_webhook(image_event(fake_line))

    reply = fake_line.sent("/message/reply")[-1]["body"]["messages"][-1]
    assert reply["text"].startswith("画像を受け取りました。") and "文字で教えていただけますか" in reply["text"]
    assert reply["quickReply"]["items"]  # the menu, as after any answer
    assert Message.objects.get(sender="customer").image
    turn = AgentTurn.objects.get()
    assert (turn.provider, turn.flags) == ("offline", ["image_not_seen"])


@pytest.mark.parametrize("cause", ["model_error", "breaker_open"])
def test_when_the_model_cannot_answer_a_picture_gets_the_offline_request_for_words(
    fake_line, consenting, model_shopkeeper, fake_anthropic, settings, cause
):
    if cause == "breaker_open":
        for _failure in range(settings.LLM_BREAKER_FAILURES):
            CircuitBreaker().record_failure()
    # model_error: nothing scripted, so every call gets a 500

    response = post_webhook(image_event(fake_line))

    assert response.status_code == 200 and LineEvent.objects.filter(status="done").count() == 2
    assert "文字で教えていただけますか" in fake_line.texts()[-1]
    turn = AgentTurn.objects.get()
    assert turn.provider == "offline" and turn.flags == ["image_not_seen"]
    assert turn.fallback_reason.startswith("http_500" if cause == "model_error" else "breaker_open")
    if cause == "model_error":
        assert blocks(fake_anthropic.requests[0], "image")  # it was offered the picture before it failed


@pytest.mark.parametrize(
    "content, flag, extension, why",
    [
        (picture("PNG", (8001, 2)), "image_too_large", "png", "大きすぎる"),
        (PNG + bytes(MAX_IMAGE_BYTES), "image_too_large", "png", "大きすぎる"),
        (picture("BMP"), "image_unsupported_type", "bin", "読めない形式の"),
    ],
    ids=["too-wide", "over-5MB-as-base64", "bmp"],
)
def test_a_picture_the_model_cannot_take_is_not_sent_and_the_turn_goes_on(
    fake_line, consenting, model_shopkeeper, fake_anthropic, content, flag, extension, why
):
    fake_line.content, fake_line.content_type = content, "image/jpeg"
    fake_anthropic.then(
        Reply([text("申し訳ございません、画像を拝見できませんでした。どんな商品か教えていただけますか？")])
    )

    post_webhook(image_event(fake_line))

    request = fake_anthropic.requests[0]
    assert blocks(request, "image") == []
    assert f"お客様が{why}画像を送りました" in blocks(request, "text")[-1]["text"]
    assert fake_line.texts()[-1] == "申し訳ございません、画像を拝見できませんでした。どんな商品か教えていただけますか？"
    assert AgentTurn.objects.get().flags == [flag]
    assert Message.objects.get(sender="customer").image.name.endswith(f".{extension}")


def test_a_sticker_gets_a_friendly_answer(fake_line, consenting):
    token = fake_line.reply_token("sticker-token")
    post_webhook(event(reply_token=token, message={"type": "sticker", "id": "1", "packageId": "1"}))

    assert "スタンプありがとうございます" in fake_line.texts()[-1]


def test_data_check_lists_what_is_kept(fake_line, consenting):
    post_webhook(text_event(fake_line, "こんにちは"))
    post_webhook(text_event(fake_line, "データ確認"))

    summary = fake_line.texts()[-1]
    assert "会話：1件（メッセージ2件）" in summary and "テスト花子" in summary


def test_data_deletion_after_confirmation_removes_everything_and_anonymises_sales(fake_line, consenting):
    key = consenting.key
    post_webhook(text_event(fake_line, "こんにちは"))
    post_webhook(text_event(fake_line, "リクエスト: 抹茶ラテ"))
    post_webhook(postback_event(fake_line, "action=confirm_buy&slot=A2&qty=1&key=k2"))
    post_webhook(text_event(fake_line, "データ削除"))
    assert Customer.objects.exists()  # nothing happens before the confirmation

    post_webhook(postback_event(fake_line, "action=delete_data&confirm=yes"))

    assert not Customer.objects.exists() and not Conversation.objects.exists() and not Message.objects.exists()
    assert not ProductRequest.objects.exists() and not ConversationTag.objects.exists()
    assert not Sale.objects.filter(customer_key=key).exists() and Sale.objects.get().customer_key == ""
    assert "すべて削除しました" in fake_line.texts()[-1]


def test_logs_never_contain_the_line_user_id(fake_line, consenting, caplog):
    from apps.core.logging import RedactionFilter

    caplog.handler.addFilter(RedactionFilter())
    with caplog.at_level(logging.DEBUG):
        post_webhook({**text_event(fake_line, "こんにちは"), "replyToken": "expired-token"})
        post_webhook(text_event(fake_line, "データ削除"))

    assert caplog.records
    assert USER not in caplog.text


def test_long_replies_are_split_at_5000_characters_into_at_most_5_messages():
    from apps.chats.line_messages import text_chunks

    chunks = text_chunks("あ" * 4000 + "\n" + "い" * 4000 + "\n" + "う" * 30000)

    assert len(chunks) == 5 and all(len(chunk) <= 5000 for chunk in chunks)
    assert chunks[0] == "あ" * 4000 and chunks[-1].endswith("…")
