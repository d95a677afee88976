"""What the LINE bot does with each webhook event (called by the Celery task, once per `webhookEventId`).

Logs name customers by their key (`cust:<pk>`), never by LINE user id."""

import logging
import time
import uuid
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from apps.agents.images import media_type
from apps.chats import line_messages as lm
from apps.chats.integrations.line_api import LineMessenger
from apps.chats.models import Conversation, Customer
from apps.chats.selectors import (
    conversation_current_for_customer,
    coupons_for_customer,
    customer_data_summary,
    line_machine,
)
from apps.chats.services import (
    chat_message_handle,
    customer_consent_set,
    customer_data_delete,
    customer_for_line_user,
    customer_loyalty_add,
    customer_preferences_update,
    customer_push_opt_out_set,
    line_event_claim,
    line_event_finish,
)
from apps.core.errors import ApplicationError
from apps.inventory.models import Payment, Sale
from apps.inventory.selectors import machine_products
from apps.inventory.services import product_request_record, purchase_create

logger = logging.getLogger(__name__)

MESSAGES_PER_MINUTE = 20
DELETE_COMMAND = "データ削除"
EXPORT_COMMAND = "データ確認"
REQUEST_PREFIXES = ("リクエスト:", "リクエスト：")


def line_event_handle(*, event: dict) -> str:
    """Process one event unless it was processed before. Returns "done" or "duplicate"; raises what processing
    raised, after recording the failure (so the task's retry may claim it again)."""
    claimed = line_event_claim(webhook_event_id=event["webhookEventId"], event_type=event.get("type", ""))
    if claimed is None:
        return "duplicate"
    customer = None
    try:
        user_id = (event.get("source") or {}).get("userId")
        if user_id:
            with LineMessenger() as messenger:
                customer = _customer(messenger, event, user_id)
                _dispatch(messenger, event, customer)
    except Exception as exc:
        line_event_finish(event=claimed, customer=customer, error=f"{type(exc).__name__}: {exc}")
        raise
    line_event_finish(event=claimed, customer=customer)
    return "done"


def _customer(messenger: LineMessenger, event: dict, user_id: str) -> Customer:
    known = Customer.objects.filter(line_user_id=user_id).first()
    name = "" if known else messenger.display_name(line_user_id=user_id)
    return customer_for_line_user(line_user_id=user_id, display_name=name)


def _dispatch(messenger: LineMessenger, event: dict, customer: Customer) -> None:
    kind = event.get("type")
    reply_token = event.get("replyToken")
    if kind == "follow":
        customer_push_opt_out_set(customer=customer, opted_out=False)
        messenger.reply(reply_token=reply_token, customer=customer, messages=_consent_prompt(welcome=True))
    elif kind == "unfollow":
        customer_push_opt_out_set(customer=customer, opted_out=True)
    elif kind == "postback":
        _postback(messenger, customer, reply_token, parse_qs(event["postback"].get("data", "")))
    elif kind == "message":
        if _over_rate_limit(messenger, customer, reply_token):
            return
        message = event["message"]
        handler = {"text": _text, "image": _image, "sticker": _sticker}.get(message.get("type"))
        if handler is None:
            messenger.reply(
                reply_token=reply_token,
                customer=customer,
                messages=lm.text_messages(_("申し訳ございません、文字か画像でお送りください。")),
            )
            return
        handler(messenger, customer, reply_token, message)


def _over_rate_limit(messenger: LineMessenger, customer: Customer, reply_token: str) -> bool:
    """At most MESSAGES_PER_MINUTE messages a minute per customer (shared through Redis by every worker). The first
    message past the limit gets a polite answer; later ones in the same minute get none (each reply costs a call)."""
    # first_seen_at keeps a customer created again with a reused id (test databases) from inheriting a count.
    key = f"chats:line-rate:{customer.pk}:{customer.first_seen_at.isoformat()}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    count = cache.incr(key)
    if count == MESSAGES_PER_MINUTE + 1:
        messenger.reply(
            reply_token=reply_token,
            customer=customer,
            messages=lm.text_messages(
                _("メッセージが多いため、少し時間をおいてからもう一度お送りください。ご不便をおかけしてすみません。")
            ),
        )
    return count > MESSAGES_PER_MINUTE


def _consent_prompt(*, welcome: bool = False) -> list:
    text = _(
        "会話の内容は、お返事と品ぞろえの改善のために保存されます（%(days)s日後に自動削除、"
        "「データ削除」でいつでも削除できます）。同意いただけますか？"
    ) % {"days": getattr(settings, "CHAT_RETENTION_DAYS", 180)}
    if welcome:
        text = _("友だち追加ありがとうございます！オフィスの自販機のアシスタントです。") + "\n" + text
    return lm.text_messages(
        text,
        actions=[
            lm.postback(_("同意する"), action="consent", value="yes"),
            lm.postback(_("同意しない"), action="consent", value="no"),
        ],
    )


def _menu_actions() -> list:
    return [
        lm.postback(_("商品一覧"), action="products"),
        lm.say(_("おすすめ"), _("おすすめは？")),
        lm.postback(_("クーポン"), action="coupons"),
        lm.postback(_("リクエスト"), action="request_help"),
    ]


def _text(messenger: LineMessenger, customer: Customer, reply_token: str, message: dict) -> None:
    text = message.get("text", "").strip()
    if text == DELETE_COMMAND:
        messages = lm.text_messages(
            _("保存されている会話・リクエストなど、あなたのデータをすべて削除します。よろしいですか？"),
            actions=[
                lm.postback(_("削除する"), action="delete_data", confirm="yes"),
                lm.postback(_("やめる"), action="delete_data", confirm="no"),
            ],
        )
    elif text == EXPORT_COMMAND:
        messages = lm.text_messages(_summary_text(customer))
    elif not customer.consent_given:
        messages = _consent_prompt()
    elif text.startswith(REQUEST_PREFIXES):
        messages = _product_request(customer, text.split(":", 1)[-1].split("：", 1)[-1])
    elif text == _("商品一覧"):
        messages = [lm.products_carousel(machine_products(machine_code=line_machine().code))]
    else:
        messenger.show_loading(customer=customer)
        messages = _agent_answer(customer, text)
    messenger.reply(reply_token=reply_token, customer=customer, messages=messages)


def _agent_answer(customer: Customer, text: str, image=None) -> list:
    machine = line_machine()
    current = conversation_current_for_customer(customer=customer)
    reply = chat_message_handle(
        machine=machine,
        conversation_public_id=current.public_id if current else None,
        text=text,
        channel=Conversation.Channel.LINE,
        customer=customer,
        image=image,
    )
    extra, actions = [], []
    for action in reply.actions:
        if action["type"] == "suggest_products":
            extra.append(lm.products_carousel(machine_products(machine_code=machine.code)))
        elif action["type"] == "confirm_purchase":
            purchase = action["purchase"]
            item = purchase["items"][0]
            actions.append(
                lm.postback(
                    _("購入する（%(yen)s円）") % {"yen": purchase["subtotal_yen"]},
                    action="confirm_buy",
                    slot=item["slot"],
                    qty=item["quantity"],
                    key=uuid.uuid4().hex,
                )
            )
        elif action["type"] == "coupon":
            customer_preferences_update(customer=customer, coupon=action["code"])
    extra = extra[:1]  # one carousel is enough; it also keeps the reply within LINE's five messages
    return (
        lm.text_messages(reply.text, actions=actions or _menu_actions(), max_messages=lm.MAX_MESSAGES - len(extra))
        + extra
    )


def _summary_text(customer: Customer) -> str:
    summary = customer_data_summary(customer=customer)
    yes_no = {True: _("はい"), False: _("いいえ")}
    lines = [
        _("保存されているあなたのデータ："),
        _("表示名：%(v)s") % {"v": summary["display_name"] or "-"},
        _("会話の保存への同意：%(v)s") % {"v": yes_no[summary["consent_given"]]},
        _("通知の停止：%(v)s") % {"v": yes_no[summary["push_opt_out"]]},
        _("ポイント：%(v)s") % {"v": summary["loyalty_score"]},
        _("会話：%(c)s件（メッセージ%(m)s件）") % {"c": summary["conversations"], "m": summary["messages"]},
        _("商品リクエスト：%(v)s") % {"v": "、".join(summary["product_requests"]) or "-"},
        _("購入：%(v)s件") % {"v": summary["purchases"]},
        _("初回：%(v)s") % {"v": f"{summary['first_seen_at']:%Y-%m-%d}"},
        _("「データ削除」と送ると、すべて削除できます。"),
    ]
    return "\n".join(lines)


def _product_request(customer: Customer, name: str) -> list:
    try:
        request = product_request_record(name=name, customer_key=customer.key, channel=Sale.Channel.LINE)
    except ApplicationError as exc:
        return lm.text_messages(exc.message)
    return lm.text_messages(
        _("「%(name)s」のリクエストを受け付けました。仕入れ担当が検討します。") % {"name": request.name},
        actions=_menu_actions(),
    )


def _postback(messenger: LineMessenger, customer: Customer, reply_token: str, data: dict) -> None:
    action = data.get("action", [""])[0]

    def value(name: str, default: str = "") -> str:
        return data.get(name, [default])[0]

    if action == "consent":
        customer = customer_consent_set(customer=customer, given=value("value") == "yes")
        text = (
            _("ありがとうございます。ご用件をどうぞ！下のメニューからも選べます。")
            if customer.consent_given
            else _(
                "承知しました。会話は保存されないため、チャットはご利用いただけません。気が変わったらいつでもどうぞ。"
            )
        )
        messages = lm.text_messages(text, actions=_menu_actions() if customer.consent_given else None)
    elif action == "delete_data":
        if value("confirm") != "yes":
            messages = lm.text_messages(_("削除を取りやめました。"))
        else:
            counts = customer_data_delete(customer=customer)
            logger.info("Deleted the data of a LINE customer on their request: %s", counts)
            messages = lm.text_messages(_("あなたのデータをすべて削除しました。ご利用ありがとうございました。"))
    elif not customer.consent_given:
        messages = _consent_prompt()
    elif action == "products":
        messages = [lm.products_carousel(machine_products(machine_code=line_machine().code))]
    elif action == "buy":
        messages = lm.text_messages(
            _("いくつ購入しますか？（LINE Payでお支払い）"),
            actions=[
                lm.postback(f"{n}個", action="confirm_buy", slot=value("slot"), qty=n, key=uuid.uuid4().hex)
                for n in (1, 2, 3)
            ],
        )
    elif action == "confirm_buy":
        messages = _purchase(customer, slot=value("slot"), quantity=int(value("qty", "1") or 1), key=value("key"))
    elif action == "coupons":
        messages = _coupons(customer)
    elif action == "coupon":
        customer_preferences_update(customer=customer, coupon=value("code"))
        messages = lm.text_messages(_("次のご購入にクーポン「%(code)s」を使います。") % {"code": value("code")})
    elif action == "request":
        messages = _product_request(customer, value("name"))
    else:  # "request_help" and anything unknown
        messages = lm.text_messages(
            _("置いてほしい商品を「リクエスト: 商品名」の形で送ってください。"), actions=_menu_actions()
        )
    messenger.reply(reply_token=reply_token, customer=customer, messages=messages)


def _purchase(customer: Customer, *, slot: str, quantity: int, key: str) -> list:
    """Buy through the shop's purchase service; the key came with the button, so tapping it twice charges once."""
    coupon = customer.preferences.get("coupon") or None
    try:
        outcome = purchase_create(
            machine=line_machine(),
            items=[{"slot": slot, "quantity": quantity}],
            coupon_code=coupon,
            payment_method=Payment.Method.LINE_PAY,
            idempotency_key=f"line-{key}",
            channel=Sale.Channel.LINE,
            customer_key=customer.key,
        )
    except ApplicationError as exc:
        return lm.text_messages(exc.message, actions=_menu_actions())
    if not outcome.replayed:
        customer_loyalty_add(customer=customer, points=outcome.receipt["total_yen"] // 100)
        if coupon:
            customer_preferences_update(customer=customer, coupon=None)
    receipt = outcome.receipt
    lines = [_("ご購入ありがとうございます！自販機から商品をお取りください。")]
    lines += [f"{line['name']} × {line['quantity']}  {line['total_yen']:,}円" for line in receipt["lines"]]
    if receipt["discount_yen"]:
        lines.append(_("割引 -%(yen)s円") % {"yen": f"{receipt['discount_yen']:,}"})
    lines.append(_("合計 %(yen)s円（税込）") % {"yen": f"{receipt['total_yen']:,}"})
    if receipt["message"]:
        lines.append(receipt["message"])
    return lm.text_messages("\n".join(lines), actions=_menu_actions())


def _coupons(customer: Customer) -> list:
    coupons = coupons_for_customer(customer=customer)
    if not coupons:
        return lm.text_messages(_("いま使えるクーポンはありません。"), actions=_menu_actions())
    return lm.text_messages(
        _("使えるクーポン：") + "\n" + "\n".join(f"・{coupon.code}" for coupon in coupons),
        actions=[lm.postback(coupon.code, action="coupon", code=coupon.code) for coupon in coupons],
    )


def _image(messenger: LineMessenger, customer: Customer, reply_token: str, message: dict) -> None:
    """The picture goes to the agent on the customer's message, and the agent's answer back; without a model that
    can look at it, the answer asks the customer to describe it in words."""
    if not customer.consent_given:
        messenger.reply(reply_token=reply_token, customer=customer, messages=_consent_prompt())
        return
    content = messenger.message_content(message_id=message["id"])
    messenger.show_loading(customer=customer)
    # Named by what the bytes are, not by what LINE's header says.
    extension = media_type(content).partition("/")[2] or "bin"
    image = ContentFile(content, name=f"line-{message['id']}.{extension}")
    messages = _agent_answer(customer, _("（画像）"), image=image)
    messenger.reply(reply_token=reply_token, customer=customer, messages=messages)


def _sticker(messenger: LineMessenger, customer: Customer, reply_token: str, message: dict) -> None:
    messenger.reply(
        reply_token=reply_token,
        customer=customer,
        messages=lm.text_messages(_("スタンプありがとうございます！何かお探しですか？"), actions=_menu_actions()),
    )
