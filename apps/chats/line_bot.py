"""What the LINE bot does with each webhook event (called by the Celery task with the event's `webhookEventId`).

The webhook stored the event before answering LINE; processing takes it through idempotent steps (see `LineEvent`),
each recorded, so a retry, a redelivered task or the re-queue job continues where the last attempt stopped:
1. store: the customer and what the event does (their words in the conversation, a consent, a purchase), with the
   answer when it needs no model — nothing here calls LINE except fetching a picture the customer sent;
2. the display name (best effort), then the model's answer computed once and stored with the reply to send;
3. send: the reply (a push when the reply token is too old or refused, with one retry key per event); LINE being
   unreachable leaves the event for the next try, never lost and never answered twice.

Logs name customers by their key (`cust:<pk>`), never by LINE user id."""

import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from linebot.v3.messaging import Message as LineMessage

from apps.agents.images import media_type
from apps.agents.runtime import agent_turn_run
from apps.chats import line_messages as lm
from apps.chats.export import export_link
from apps.chats.integrations.line_api import LineApiUnavailable, LineMessenger
from apps.chats.models import Customer, LineEvent, Rating
from apps.chats.selectors import coupons_for_customer, customer_data_summary, customer_for_key, line_machine
from apps.chats.services import (
    ChatReply,
    LineEventLeaseLost,
    chat_turn_finish,
    customer_consent_set,
    customer_data_delete,
    customer_for_line_user,
    customer_loyalty_add,
    customer_preferences_update,
    customer_push_opt_out_set,
    line_chat_turn,
    line_event_answered,
    line_event_claim,
    line_event_fail,
    line_event_finish,
    line_event_stored,
    line_message_store,
    line_rating_record,
    member_code_issue,
    rating_comment_add,
)
from apps.core.errors import ApplicationError
from apps.inventory.integrations.payments import PROVIDER_METHODS
from apps.inventory.models import Payment, Sale
from apps.inventory.selectors import checkout_pickup_notice, machine_products, receipt_invoice_lines
from apps.inventory.services import product_request_record, purchase_create
from apps.inventory.services.checkout import checkout_start

logger = logging.getLogger(__name__)

MESSAGES_PER_MINUTE = 20
DELETE_COMMAND = "データ削除"
EXPORT_COMMAND = "データ確認"
MEMBER_CODE_COMMAND = "会員コード"
REQUEST_PREFIXES = ("リクエスト:", "リクエスト：")
COMMENT_PREFIXES = ("意見:", "意見：")
MAX_TEXT_LENGTH = 5000  # what LINE lets a customer send; the model sees MAX_CHAT_MESSAGE_LENGTH of it
# LINE's reply tokens are good for about a minute: an answer sent later than this goes by push.
REPLY_TOKEN_MAX_AGE = timedelta(seconds=50)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # C0 controls but tab and newline, and DEL
_RETRY_KEYS = uuid.UUID("6f1d3c3e-2f0a-4d55-9a43-3c1b8f0e7a21")  # namespace of the push retry key of each event


@dataclass
class _AskAgent:
    """The event's answer comes from the model: the customer's words (or picture) to store and answer."""

    text: str
    image: ContentFile | None = None


def line_event_handle(*, webhook_event_id: str) -> str:
    """Take the stored event through its remaining steps. Returns "done"; "skipped" when it is finished or another
    worker holds it; "retry" when LINE could not be reached (the event keeps its step, the re-queue job tries again).
    Anything else raised is recorded on the event and raised again."""
    event = line_event_claim(webhook_event_id=webhook_event_id)
    if event is None:
        return "skipped"
    try:
        with LineMessenger() as messenger:
            _continue(messenger, event)
    except LineEventLeaseLost:
        logger.warning("LINE event %s was taken over by another worker", webhook_event_id)
        return "skipped"
    except LineApiUnavailable as exc:
        line_event_fail(event=event, error=f"{type(exc).__name__}: {exc}")
        logger.warning("LINE event %s waits for LINE: %s", webhook_event_id, exc)
        return "retry"
    except Exception as exc:
        line_event_fail(event=event, error=f"{type(exc).__name__}: {exc}")
        raise
    return "done"


def _continue(messenger: LineMessenger, event: LineEvent) -> None:
    if event.status == LineEvent.Status.PROCESSING:
        event = _store(messenger, event)
    if event.status == LineEvent.Status.STORED:
        # The display name only of a customer who consented (before that, not even their LINE id is stored).
        if event.customer is not None and event.customer.line_user_id and not event.customer.display_name:
            name = messenger.display_name(line_user_id=event.customer.line_user_id)
            if name:
                customer_for_line_user(line_user_id=event.customer.line_user_id, display_name=name)
        if event.reply is None:
            event = _answer(messenger, event)
        if event.reply:
            _send(messenger, event)
        event = line_event_answered(event=event)
    line_event_finish(event=event)


def _store(messenger: LineMessenger, event: LineEvent) -> LineEvent:
    payload = event.payload
    user_id = (payload.get("source") or {}).get("userId")
    if not user_id:
        return line_event_stored(event=event, customer=None, reply=[])
    customer = customer_for_line_user(line_user_id=user_id)
    effect = _effect(messenger, payload, customer)
    if isinstance(effect, _AskAgent):
        return line_message_store(
            event=event, machine=line_machine(), customer=customer, text=effect.text, image=effect.image
        )
    return line_event_stored(
        # None when the event deleted the customer's data
        event=event,
        customer=customer if customer.pk else None,
        reply=[message.to_dict() for message in effect],
    )


def _effect(messenger: LineMessenger, payload: dict, customer: Customer) -> list | _AskAgent:
    """Do what the event asks and return the answer (LINE messages), or what to ask the model."""
    kind = payload.get("type")
    if kind == "follow":
        customer_push_opt_out_set(customer=customer, opted_out=False)
        return _consent_prompt(welcome=True)
    if kind == "unfollow":
        customer_push_opt_out_set(customer=customer, opted_out=True)
        return []
    if kind == "postback":
        return _postback(customer, parse_qs((payload.get("postback") or {}).get("data", "")))
    if kind != "message":
        return []
    limited = _rate_limited(customer)
    if limited is not None:
        return limited
    message = payload.get("message") or {}
    if message.get("type") == "text":
        return _text(customer, message)
    if message.get("type") == "image":
        return _image(messenger, customer, message)
    if message.get("type") == "sticker":
        return lm.text_messages(_("スタンプありがとうございます！何かお探しですか？"), actions=_menu_actions())
    return _unsupported()


def _unsupported() -> list:
    return lm.text_messages(_("申し訳ございません、文字か画像でお送りください。"))


def _answer(messenger: LineMessenger, event: LineEvent) -> LineEvent:
    """The model's answer to the stored message, recorded in the conversation together with the reply to send, so
    a retry of the sending step sends it again instead of asking the model again."""
    if event.message is None:  # the customer deleted their data meanwhile
        return line_event_stored(event=event, customer=event.customer, reply=[])
    messenger.show_loading(customer=event.customer)
    machine = line_machine()
    turn = line_chat_turn(event=event, machine=machine)
    outcome = None
    if turn.context is not None:
        outcome = agent_turn_run(agent=turn.conversation.agent, context=turn.context, history=turn.history)
    with transaction.atomic():
        reply = chat_turn_finish(turn=turn, outcome=outcome)
        messages = _answer_messages(event.customer, reply, machine)
        return line_event_stored(
            event=event,
            customer=event.customer,
            message=event.message,
            reply=[message.to_dict() for message in messages],
        )


def _send(messenger: LineMessenger, event: LineEvent) -> None:
    fresh = timezone.now() - event.received_at < REPLY_TOKEN_MAX_AGE
    how = messenger.reply(
        reply_token=event.payload.get("replyToken") if fresh else None,
        # A customer who deleted their data in this event gets the reply, never a push.
        customer=event.customer or Customer(),
        messages=[LineMessage.from_dict(message) for message in event.reply],
        retry_key=str(uuid.uuid5(_RETRY_KEYS, event.webhook_event_id)),
    )
    if how != "reply":
        logger.info("LINE event %s answered by %s", event.webhook_event_id, how)


def _rate_limited(customer: Customer) -> list | None:
    """At most MESSAGES_PER_MINUTE messages a minute per customer (shared through Redis by every worker): None
    within the limit. The first message past it gets a polite answer; later ones in the same minute get none (each
    reply costs a call)."""
    # first_seen_at keeps a customer created again with a reused id (test databases) from inheriting a count.
    key = f"chats:line-rate:{customer.pk}:{customer.first_seen_at.isoformat()}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    count = cache.incr(key)
    if count <= MESSAGES_PER_MINUTE:
        return None
    if count == MESSAGES_PER_MINUTE + 1:
        return lm.text_messages(
            _("メッセージが多いため、少し時間をおいてからもう一度お送りください。ご不便をおかけしてすみません。")
        )
    return []


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
        lm.say(_("会員コード"), MEMBER_CODE_COMMAND),
    ]


def _text(customer: Customer, message: dict) -> list | _AskAgent:
    # All of it, as LINE allows, without NUL and other control characters the database or the model would refuse.
    text = _CONTROL_CHARACTERS.sub("", str(message.get("text") or "")).strip()[:MAX_TEXT_LENGTH]
    if not text:
        return _unsupported()
    if text == DELETE_COMMAND:
        return lm.text_messages(
            _("保存されている会話・リクエストなど、あなたのデータをすべて削除します。よろしいですか？"),
            actions=[
                lm.postback(_("削除する"), action="delete_data", confirm="yes"),
                lm.postback(_("やめる"), action="delete_data", confirm="no"),
            ],
        )
    if text == EXPORT_COMMAND:
        link = _("すべてのデータ（JSONファイル、%(minutes)s分間有効）：") % {
            "minutes": settings.CUSTOMER_EXPORT_LINK_MINUTES
        }
        return lm.text_messages(f"{_summary_text(customer)}\n\n{link}\n{export_link(customer=customer)}")
    if not customer.consent_given:
        return _consent_prompt()
    if text == MEMBER_CODE_COMMAND:
        return _member_code(customer)
    if text.startswith(REQUEST_PREFIXES):
        return _product_request(customer, text.split(":", 1)[-1].split("：", 1)[-1])
    if text.startswith(COMMENT_PREFIXES):
        return _rating_comment(customer, text[len(COMMENT_PREFIXES[0]) :])
    if text == _("商品一覧"):
        return [lm.products_carousel(machine_products(machine_code=line_machine().code))]
    return _AskAgent(text)


def _member_code(customer: Customer) -> list:
    code, expires_at = member_code_issue(customer=customer)
    return lm.text_messages(
        _(
            "会員コード：%(code)s\n自販機のタブレットで「会員コード」を押して入力すると、いつものお買い物に合わせて"
            "おすすめします（%(time)sまで、1回だけ有効）。"
        )
        % {"code": code, "time": timezone.localtime(expires_at).strftime("%H:%M")}
    )


def _answer_messages(customer: Customer, reply: ChatReply, machine) -> list:
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
    rate = _rate_actions(m=reply.message_id) if reply.message_id else []
    messages = lm.text_messages(reply.text, max_messages=lm.MAX_MESSAGES - len(extra)) + extra
    # LINE shows the quick replies of the last message only (the carousel, when there is one).
    messages[-1].quick_reply = lm.quick_reply([*rate, *(actions or _menu_actions())])
    return messages


def _rate_actions(**subject) -> list:
    """👍 / 👎 quick replies rating an answer (`m=<message id>`) or a purchase (`sale=<sale id>`)."""
    return [
        lm.postback(_("👍 よかった"), action="rate", s=Rating.GOOD, **subject),
        lm.postback(_("👎 いまいち"), action="rate", s=Rating.BAD, **subject),
    ]


def _rate_answer(customer: Customer, value) -> list:
    message_id = int(value("m")) if value("m").isdigit() else None
    try:
        rating = line_rating_record(
            customer=customer,
            machine=line_machine(),
            score=int(value("s", "0") or 0) if value("s", "0").lstrip("-").isdigit() else 0,
            message_id=message_id,
            sale_id=int(value("sale")) if value("sale").isdigit() else None,
        )
    except ApplicationError as exc:
        return lm.text_messages(exc.message, actions=_menu_actions())
    if rating.score == Rating.BAD:
        return lm.text_messages(
            _("ご意見ありがとうございます。よろしければ「意見: 」に続けて理由を送ってください。"),
            actions=_menu_actions(),
        )
    return lm.text_messages(_("ありがとうございます！"), actions=_menu_actions())


def _rating_comment(customer: Customer, comment: str) -> list:
    try:
        rating = rating_comment_add(customer=customer, comment=comment)
    except ApplicationError as exc:
        return lm.text_messages(exc.message)
    if rating is None:
        return lm.text_messages(_("ご意見ありがとうございます。回答の下の👍/👎で評価してからお送りください。"))
    return lm.text_messages(_("ご意見ありがとうございました。サービスの改善に使わせていただきます。"))


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


def _postback(customer: Customer, data: dict) -> list:
    def value(name: str, default: str = "") -> str:
        return data.get(name, [default])[0]

    action = value("action")
    if action in _POSTBACKS_WITHOUT_CONSENT:
        return _POSTBACKS_WITHOUT_CONSENT[action](customer, value)
    if not customer.consent_given:
        return _consent_prompt()
    return _POSTBACKS.get(action, _request_help)(customer, value)


def _consent_answer(customer: Customer, value) -> list:
    customer = customer_consent_set(customer=customer, given=value("value") == "yes")
    if not customer.consent_given:
        return lm.text_messages(
            _("承知しました。会話は保存されないため、チャットはご利用いただけません。気が変わったらいつでもどうぞ。")
        )
    return lm.text_messages(
        _("ありがとうございます。ご用件をどうぞ！下のメニューからも選べます。"), actions=_menu_actions()
    )


def _data_delete_answer(customer: Customer, value) -> list:
    if value("confirm") != "yes":
        return lm.text_messages(_("削除を取りやめました。"))
    counts = customer_data_delete(customer=customer)
    logger.info("Deleted the data of a LINE customer on their request: %s", counts)
    return lm.text_messages(_("あなたのデータをすべて削除しました。ご利用ありがとうございました。"))


def _products_answer(customer: Customer, value) -> list:
    return [lm.products_carousel(machine_products(machine_code=line_machine().code))]


def _quantity_question(customer: Customer, value) -> list:
    question = (
        _("いくつ購入しますか？（スマホでお支払い後、自販機のタブレットで受け取ります）")
        if phone_providers()
        else _("いくつ購入しますか？（LINE Payでお支払い）")
    )
    return lm.text_messages(
        question,
        actions=[
            lm.postback(f"{n}個", action="confirm_buy", slot=value("slot"), qty=n, key=uuid.uuid4().hex)
            for n in (1, 2, 3)
        ],
    )


def _purchase_answer(customer: Customer, value) -> list:
    slot, quantity, key = value("slot"), int(value("qty", "1") or 1), value("key")
    providers = phone_providers()
    if not providers:
        return _purchase(customer, slot=slot, quantity=quantity, key=key)
    provider = value("provider")
    if provider in providers:
        return _checkout_on_line(customer, slot=slot, quantity=quantity, key=key, provider=provider)
    if len(providers) == 1:
        return _checkout_on_line(customer, slot=slot, quantity=quantity, key=key, provider=providers[0])
    labels = {"paypay": _("PayPayで払う"), "stripe": _("カードで払う")}
    return lm.text_messages(
        _("お支払い方法を選んでください。"),
        actions=[
            lm.postback(labels[p], action="confirm_buy", slot=slot, qty=quantity, key=key, provider=p)
            for p in providers
        ],
    )


def _checkout_on_line(customer: Customer, *, slot: str, quantity: int, key: str, provider: str) -> list:
    """A LINE purchase is paid on the phone through the provider's page, and dispensed only when the buyer types the
    pickup code (sent on LINE once paid) at the machine's tablet: never at a machine the buyer is not standing at."""
    coupon = customer.preferences.get("coupon") or None
    machine = line_machine()
    try:
        checkout = checkout_start(
            machine=machine,
            items=[{"slot": slot, "quantity": quantity}],
            coupon_code=coupon,
            provider=provider,
            idempotency_key=f"line-{key}",
            channel=Sale.Channel.LINE,
            customer_key=customer.key,
        )
    except ApplicationError as exc:
        return lm.text_messages(exc.message, actions=_menu_actions())
    if checkout.state != checkout.State.RESERVED:
        return lm.text_messages(_("このご注文はすでに受け付けています。"), actions=_menu_actions())
    if coupon:
        customer_preferences_update(customer=customer, coupon=None)
    text = _(
        "合計 %(yen)s円（税込）。%(minutes)s分以内に、こちらからお支払いください：\n%(url)s\n"
        "お支払いが済むと受け取りコードをお送りします。自販機「%(machine)s」のタブレットで「受け取りコード」を押して入力すると、"
        "商品が出ます。"
    ) % {
        "yen": f"{checkout.sale.total_yen:,}",
        "minutes": max(1, settings.PAYMENT_QR_EXPIRY_SECONDS // 60),
        "url": checkout.pay_url,
        "machine": machine.name or machine.code,
    }
    return lm.text_messages(text)


def pickup_code_push(*, checkout_id: int) -> bool:
    """Send the buyer of a paid LINE purchase its pickup code (chats' receiver of `checkout_paid` queues this). The
    same retry key for every try, so LINE delivers it once. False when there is nobody to send it to."""
    notice = checkout_pickup_notice(checkout_id=checkout_id)
    customer = customer_for_key(key=notice["customer_key"]) if notice else None
    if customer is None:
        logger.warning("Pickup code of checkout %s has no LINE customer to go to", checkout_id)
        return False
    lines = [_("お支払いを確認しました。受け取りコード：%(code)s") % {"code": notice["code"]}]
    lines += [f"{line['name']} × {line['quantity']}" for line in notice["lines"]]
    lines.append(
        _("自販機「%(machine)s」のタブレットで「受け取りコード」を押して入力してください（%(until)sまで有効）。")
        % {"machine": notice["machine"], "until": f"{timezone.localtime(notice['expires_at']):%H:%M}"}
    )
    with LineMessenger() as messenger:
        return messenger.push(
            customer=customer,
            messages=lm.text_messages("\n".join(lines)),
            retry_key=str(uuid.uuid5(_RETRY_KEYS, f"pickup-{checkout_id}")),
            transactional=True,
        )


def phone_providers() -> list[str]:
    """The phone payment providers offered (PayPay, Stripe), in the order of PAYMENT_PROVIDERS."""
    return [p for p in settings.PAYMENT_PROVIDERS if p in PROVIDER_METHODS]


def _coupon_choice(customer: Customer, value) -> list:
    customer_preferences_update(customer=customer, coupon=value("code"))
    return lm.text_messages(_("次のご購入にクーポン「%(code)s」を使います。") % {"code": value("code")})


def _request_help(customer: Customer, value) -> list:
    """The answer to "request_help", and to anything unknown."""
    return lm.text_messages(
        _("置いてほしい商品を「リクエスト: 商品名」の形で送ってください。"), actions=_menu_actions()
    )


# Each postback's answer, by its `action`: these two work before consent (giving it, or having nothing stored)…
_POSTBACKS_WITHOUT_CONSENT = {"consent": _consent_answer, "delete_data": _data_delete_answer}
# …and these only after it.
_POSTBACKS = {
    "products": _products_answer,
    "buy": _quantity_question,
    "confirm_buy": _purchase_answer,
    "coupons": lambda customer, value: _coupons(customer),
    "coupon": _coupon_choice,
    "request": lambda customer, value: _product_request(customer, value("name")),
    "rate": _rate_answer,
}


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
    lines = [_("ご購入ありがとうございます！自販機から商品をお取りください。"), "", *receipt_invoice_lines(receipt)]
    if receipt["message"]:
        lines.append(receipt["message"])
    return lm.text_messages("\n".join(lines), actions=[*_rate_actions(sale=receipt["sale_id"]), *_menu_actions()])


def _coupons(customer: Customer) -> list:
    coupons = coupons_for_customer(customer=customer)
    if not coupons:
        return lm.text_messages(_("いま使えるクーポンはありません。"), actions=_menu_actions())
    return lm.text_messages(
        _("使えるクーポン：") + "\n" + "\n".join(f"・{coupon.code}" for coupon in coupons),
        actions=[lm.postback(coupon.code, action="coupon", code=coupon.code) for coupon in coupons],
    )


def _image(messenger: LineMessenger, customer: Customer, message: dict) -> list | _AskAgent:
    """The picture goes to the agent on the customer's message, and the agent's answer back; without a model that
    can look at it, the answer asks the customer to describe it in words."""
    if not customer.consent_given:
        return _consent_prompt()
    content = messenger.message_content(message_id=message["id"])
    # Named by what the bytes are, not by what LINE's header says.
    extension = media_type(content).partition("/")[2] or "bin"
    return _AskAgent(_("（画像）"), image=ContentFile(content, name=f"line-{message['id']}.{extension}"))
