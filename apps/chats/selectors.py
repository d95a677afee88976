"""Reads of customers and conversations."""

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agents.images import MAX_IMAGE_BYTES, ChatImage, chat_image
from apps.agents.models import AgentTurn
from apps.agents.providers.base import ChatMessage
from apps.agents.selectors import shopkeeper_for_chat
from apps.chats.models import CUSTOMER_KEY_PREFIX, Conversation, Customer, LineEvent, Message, Rating
from apps.core.errors import NotFound
from apps.inventory.models import Coupon, Machine, ProductRequest, Sale
from apps.inventory.selectors import customer_recommendations, machine_get, product_search

logger = logging.getLogger(__name__)

# A LINE message after this much silence starts a new conversation (LINE has no session of its own).
LINE_CONVERSATION_GAP = timedelta(minutes=30)


def tablet_greeting() -> str:
    """What the tablet shows on load and after each reset: the greeting of the persona a new chat starts with (the
    shopkeeper's; an A/B test may give the conversation another one once the customer writes), else a plain one."""
    agent = shopkeeper_for_chat()
    if agent is not None and agent.persona is not None and agent.persona.greeting:
        return agent.persona.greeting
    return _("いらっしゃいませ！ご用件をどうぞ。")


def conversation_for_client(
    *, public_id, machine, channel: str = Conversation.Channel.TABLET, customer: Customer | None = None
) -> Conversation:
    """The conversation a client names by its public id, only if it belongs to that client: held on this channel
    (tablet or LINE), at this machine, with this customer (none for an anonymous tablet). Anything else, including
    a malformed id, is the same NotFound, so a client learns nothing about conversations that are not its own."""
    try:
        conversation = (
            Conversation.objects.select_related("agent", "persona")
            .filter(public_id=uuid.UUID(str(public_id)), machine=machine, channel=channel, customer=customer)
            .first()
        )
    except ValueError:  # not a UUID (an old integer id, a typo): no conversation of anyone's
        conversation = None
    if conversation is None:
        raise NotFound(_("この会話は見つかりません。新しい会話を始めてください。"))
    return conversation


def conversation_sale_ids(*, conversation: Conversation) -> tuple[int, ...]:
    """The sales bought in this (tablet) conversation, as recorded by `conversation_sale_record`."""
    rows = conversation.messages.filter(sender=Message.Sender.SYSTEM, data__has_key="sale_id")
    return tuple(int(data["sale_id"]) for data in rows.values_list("data", flat=True))


def tablet_customer_key(*, machine, conversation_public_id) -> str:
    """The customer key a tablet conversation carries once its customer typed their member code ("" for an
    anonymous one, or for anything that is not this machine's tablet conversation)."""
    try:
        return conversation_for_client(public_id=conversation_public_id, machine=machine).customer_key
    except NotFound:
        return ""


def recommendations_for(*, customer: Customer | None, machine) -> list[dict]:
    """Products picked for this customer at this machine, each with why; only with their consent (anonymous tablet
    customers and customers who have not consented get none)."""
    if customer is None or not customer.consent_given:
        return []
    return customer_recommendations(
        customer_key=customer.key, machine=machine, now=timezone.now(), days=settings.ENGAGEMENT_FAVOURITE_DAYS
    )


def rated_answer(*, conversation: Conversation, message_id) -> Message:
    """An assistant answer of this conversation, or NotFound (another conversation's, a customer's own words)."""
    message = conversation.messages.filter(pk=message_id, sender=Message.Sender.ASSISTANT).first()
    if message is None:
        raise NotFound(_("評価する回答またはご購入が見つかりません。"))
    return message


def answer_turn(message: Message) -> AgentTurn | None:
    """The decision-log turn that wrote this answer (None for a notice written without an agent)."""
    turn_id = (message.data or {}).get("turn_id")
    return AgentTurn.objects.filter(pk=turn_id).first() if turn_id else None


def customer_owns_sale(*, conversation: Conversation, sale_id) -> bool:
    """The sale was bought in this conversation (a tablet) or under the conversation's customer key (LINE)."""
    if not isinstance(sale_id, int):
        return False
    if sale_id in conversation_sale_ids(conversation=conversation):
        return True
    return (
        bool(conversation.customer_key)
        and Sale.objects.filter(pk=sale_id, customer_key=conversation.customer_key).exists()
    )


def latest_rating_of(*, customer: Customer, since) -> Rating | None:
    return Rating.objects.filter(conversation__customer=customer, created_at__gte=since).order_by("-created_at").first()


def conversation_history(*, conversation: Conversation, limit: int = 20) -> list[ChatMessage]:
    """The last `limit` customer and assistant messages, oldest first, as the provider sees them. Earlier turns' tool
    traffic stays in the decision log: a provider gets each turn's tool results within that turn.

    Only the newest picture the customer sent rides on its message: a model reads a picture again on every call
    that carries it (up to ~1,600 tokens each), so older ones stay as their placeholder text."""
    rows = list(
        conversation.messages.filter(sender__in=[Message.Sender.CUSTOMER, Message.Sender.ASSISTANT])
        .order_by("-created_at", "-id")
        .values_list("sender", "text", "image")[:limit]
    )[::-1]
    newest_image = max(
        (index for index, (sender, _text, image) in enumerate(rows) if image and sender == Message.Sender.CUSTOMER),
        default=None,
    )
    role = {Message.Sender.CUSTOMER: "user", Message.Sender.ASSISTANT: "assistant"}
    return [
        ChatMessage(role=role[sender], text=text, image=_stored_image(image) if index == newest_image else None)
        for index, (sender, text, image) in enumerate(rows)
    ]


def _stored_image(name: str) -> ChatImage | None:
    try:
        with Message._meta.get_field("image").storage.open(name, "rb") as file:
            return chat_image(file.read(MAX_IMAGE_BYTES + 1))  # one byte past the limit tells a picture too large
    except OSError:
        logger.warning("The stored picture %s cannot be read; the model gets the message without it", name)
        return None


def conversation_current_for_customer(*, customer: Customer) -> Conversation | None:
    """The customer's LINE conversation if they wrote within the last LINE_CONVERSATION_GAP."""
    return (
        Conversation.objects.filter(
            customer=customer,
            channel=Conversation.Channel.LINE,
            last_activity_at__gte=timezone.now() - LINE_CONVERSATION_GAP,
        )
        .order_by("-last_activity_at")
        .first()
    )


def customer_for_key(*, key: str) -> Customer | None:
    """The LINE customer a shop table names by `cust:<pk>` (Customer.key); None for anyone else."""
    pk = key.removeprefix(CUSTOMER_KEY_PREFIX) if key.startswith(CUSTOMER_KEY_PREFIX) else ""
    return Customer.objects.filter(pk=int(pk)).first() if pk.isdigit() else None


def line_machine() -> Machine:
    """The machine LINE customers buy from: LINE_MACHINE_CODE, or the first active machine."""
    if settings.LINE_MACHINE_CODE:
        return machine_get(code=settings.LINE_MACHINE_CODE)
    machine = Machine.objects.filter(status=Machine.Status.ACTIVE).order_by("code").first()
    if machine is None:
        raise NotFound(_("稼働中の自販機がありません。"))
    return machine


def products_mentioned(texts: list[str]) -> list[str]:
    """SKUs of the products whose Japanese or English name appears in any of `texts`."""
    joined = "\n".join(texts).casefold()
    return [
        sku
        for sku, name_ja, name_en in product_search().values_list("sku", "name_ja", "name_en")
        if (name_ja and name_ja.casefold() in joined) or (name_en and name_en.casefold() in joined)
    ]


def customer_record(customer: Customer) -> dict:
    """The customer's own row as they may see it (the keyed hash of their LINE id is not theirs to read)."""
    return {
        "key": customer.key,
        "line_user_id": customer.line_user_id,
        "display_name": customer.display_name,
        "language": customer.language,
        "consent_given": customer.consent_given,
        "consent_at": customer.consent_at,
        "push_opt_out": customer.push_opt_out,
        "loyalty_score": customer.loyalty_score,
        "preferences": customer.preferences,
        "first_seen_at": customer.first_seen_at,
        "last_seen_at": customer.last_seen_at,
    }


def customer_data_summary(*, customer: Customer) -> dict:
    """Everything kept about a customer, as they may ask to see it (「データ確認」)."""
    conversations = Conversation.objects.filter(customer=customer).aggregate(
        conversations=Count("id", distinct=True), messages=Count("messages")
    )
    return {
        **customer_record(customer),
        "conversations": conversations["conversations"],
        "messages": conversations["messages"],
        "product_requests": list(
            ProductRequest.objects.filter(customer_key=customer.key).values_list("name", flat=True)
        ),
        "purchases": Sale.objects.filter(customer_key=customer.key).count(),
    }


def coupons_for_customer(*, customer: Customer) -> list[Coupon]:
    """Active, unexpired coupons with uses left that this customer has not used up."""
    now = timezone.now()
    coupons = (
        Coupon.objects.filter(active=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
        .annotate(
            uses=Count("redemptions", distinct=True),
            customer_uses=Count("redemptions", filter=Q(redemptions__customer_key=customer.key), distinct=True),
        )
        .order_by("code")
    )
    return [
        coupon
        for coupon in coupons
        if (coupon.max_uses is None or coupon.uses < coupon.max_uses)
        and (coupon.max_uses_per_customer is None or coupon.customer_uses < coupon.max_uses_per_customer)
    ][:10]


LINE_EVENTS_REQUEUE_BATCH = 1000


def line_events_due(*, received_grace_seconds: int) -> list[str]:
    """The ids of unfinished LINE events no worker holds, oldest first: leases that ran out, released after a failed
    attempt, or never taken though received more than `received_grace_seconds` ago (its task is likely lost)."""
    now = timezone.now()
    return list(
        LineEvent.objects.exclude(status__in=[LineEvent.Status.DONE, LineEvent.Status.FAILED])
        .filter(
            Q(locked_until__lte=now)
            | Q(locked_until__isnull=True, attempts__gt=0)
            | Q(locked_until__isnull=True, received_at__lte=now - timedelta(seconds=received_grace_seconds))
        )
        .order_by("received_at")
        .values_list("webhook_event_id", flat=True)[:LINE_EVENTS_REQUEUE_BATCH]
    )
