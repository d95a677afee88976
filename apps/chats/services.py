"""Writes of the chats app: customers, a customer's message in and the assistant's reply out, tags, data deletion."""

import hashlib
import hmac
import logging
import re
import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agents.limits import MAX_CHAT_MESSAGE_LENGTH
from apps.agents.providers.base import ChatMessage
from apps.agents.providers.offline import detect_intent, detect_language
from apps.agents.runtime import TurnOutcome, agent_turn_run, unavailable_notice
from apps.agents.selectors import shopkeeper_for_chat
from apps.agents.services import conversation_records_forget
from apps.agents.tools.registry import ToolContext
from apps.chats.models import Conversation, ConversationTag, Customer, LineEvent, MemberCode, Message, Rating
from apps.chats.selectors import (
    answer_turn,
    conversation_current_for_customer,
    conversation_for_client,
    conversation_history,
    conversation_sale_ids,
    customer_for_key,
    customer_owns_sale,
    latest_rating_of,
    products_mentioned,
    rated_answer,
    recommendations_for,
    tablet_customer_key,
)
from apps.chats.signals import requested_persona
from apps.core.errors import ApplicationError, Conflict, NotFound, RateLimited, ServiceUnavailable, ValidationError
from apps.core.logging import redact_text
from apps.core.sql import batch, insert
from apps.inventory.models import Sale
from apps.inventory.services import customer_data_forget, purchase_create

logger = logging.getLogger(__name__)


@dataclass
class ChatReply:
    conversation: Conversation
    text: str
    actions: list[dict] = field(default_factory=list)
    agent_available: bool = True
    message_id: int | None = None  # the assistant's answer, which the customer may rate


@dataclass
class ChatTurn:
    """A customer's message recorded and what the agent needs to answer it (`context` is None: no agent to ask)."""

    conversation: Conversation
    history: list[ChatMessage]
    language: str
    context: ToolContext | None


# --- customers ------------------------------------------------------------------------------------------------------


def line_user_hash(line_user_id: str) -> str:
    """The keyed hash a LINE user is found by (HMAC-SHA256 with LINE_USER_HASH_KEY, or a key derived from
    SECRET_KEY): stored before consent instead of the id itself."""
    key = settings.LINE_USER_HASH_KEY or f"line-user:{settings.SECRET_KEY}"
    return hmac.new(key.encode(), line_user_id.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def customer_for_line_user(*, line_user_id: str, display_name: str = "") -> Customer:
    """The customer behind a LINE user id, found by its keyed hash and created on first contact; `last_seen_at` is
    now. The id and the display name are stored only for a customer who consented; before that the returned
    instance carries them in memory only, for `customer_consent_set`."""
    if not re.fullmatch(r"U[0-9a-f]{32}", line_user_id or ""):
        raise ValidationError(_("LINEのユーザーIDが正しくありません。"), details={"field": "line_user_id"})
    customer, created = Customer.objects.select_for_update().get_or_create(line_user_hash=line_user_hash(line_user_id))
    if not created:
        customer.last_seen_at = timezone.now()
        fields = ["last_seen_at"]
        if customer.consent_given:
            customer.line_user_id = line_user_id
            customer.display_name = display_name[:100] or customer.display_name
            fields += ["line_user_id", "display_name"]
        customer.save(update_fields=fields)
    customer.seen_line_user_id, customer.seen_display_name = line_user_id, display_name[:100]
    return customer


@transaction.atomic
def customer_consent_set(*, customer: Customer, given: bool) -> Customer:
    """Consent stores the LINE id (and name) this customer was just seen with; withdrawing it drops them again."""
    customer.consent_given = given
    customer.consent_at = timezone.now() if given else None
    if given:
        customer.line_user_id = getattr(customer, "seen_line_user_id", "") or customer.line_user_id
        customer.display_name = getattr(customer, "seen_display_name", "") or customer.display_name
    else:
        customer.line_user_id, customer.display_name = None, ""
    customer.save(update_fields=["consent_given", "consent_at", "line_user_id", "display_name"])
    return customer


@transaction.atomic
def customer_push_opt_out_set(*, customer: Customer, opted_out: bool) -> Customer:
    """Unfollow (blocking the account) opts out of pushes; following again opts back in."""
    customer.push_opt_out = opted_out
    customer.save(update_fields=["push_opt_out"])
    return customer


@transaction.atomic
def customer_loyalty_add(*, customer: Customer, points: int) -> None:
    Customer.objects.filter(pk=customer.pk).update(loyalty_score=F("loyalty_score") + points)


@transaction.atomic
def customer_preferences_update(*, customer: Customer, **preferences) -> Customer:
    """Merge `preferences` into the customer's; a None value removes the key (e.g. a used coupon)."""
    customer.refresh_from_db(fields=["preferences"])
    for name, value in preferences.items():
        if value is None:
            customer.preferences.pop(name, None)
        else:
            customer.preferences[name] = value
    customer.save(update_fields=["preferences"])
    return customer


# --- member codes: a LINE customer makes themselves known to a tablet ---------------------------------------------

MEMBER_CODE_DIGITS = 6


def _member_code_hash(code: str) -> str:
    return hmac.new(f"member-code:{settings.SECRET_KEY}".encode(), code.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def member_code_issue(*, customer: Customer) -> tuple[str, datetime]:
    """A new member code for this customer (their earlier one stops working) and until when it works. Only for a
    customer who consented: the tablet will use their purchase history."""
    if not customer.consent_given:
        raise Conflict(_("会員コードは、会話の保存に同意いただいた方にお出ししています。"), code="consent_required")
    now = timezone.now()
    MemberCode.objects.filter(Q(customer=customer) | Q(expires_at__lte=now)).delete()
    expires_at = now + timedelta(minutes=settings.MEMBER_CODE_MINUTES)
    for _attempt in range(10):  # another customer's live code with the same digits: draw again
        code = f"{secrets.randbelow(10**MEMBER_CODE_DIGITS):0{MEMBER_CODE_DIGITS}d}"
        try:
            with transaction.atomic():
                MemberCode.objects.create(customer=customer, code_hash=_member_code_hash(code), expires_at=expires_at)
        except IntegrityError:
            continue
        return code, expires_at
    raise ServiceUnavailable(_("会員コードを発行できませんでした。少し後でもう一度お試しください。"))


@transaction.atomic
def member_codes_expired_delete(*, now: datetime) -> int:
    """The retention job's: codes past their time (an unused one otherwise waits for its customer's next code)."""
    return MemberCode.objects.filter(expires_at__lte=now).delete()[0]


def _member_code_failure_admit(machine) -> str:
    """The key counting mistyped codes at this machine in these ten minutes; past the limit the tablet waits them
    out. With Redis down nothing can be counted, so no code is tried (never an unmetered guess)."""
    key = f"chats:member-code-failures:{machine.pk}:{int(time.time() // 600)}"
    try:
        cache.add(key, 0, timeout=700)
        failures = cache.get(key) or 0
    except Exception as exc:  # the cache is Redis: any failure of it means "cannot count"
        logger.warning("Member codes refused at %s: the failure count is unavailable (%s)", machine.code, exc)
        raise ServiceUnavailable(_("今は会員コードを確認できません。")) from exc
    if failures >= settings.MEMBER_CODE_FAILURES_PER_10_MINUTES:
        raise RateLimited(_("会員コードの入力が続けて間違っています。しばらくしてからお試しください。"))
    return key


@transaction.atomic
def tablet_customer_identify(*, machine, conversation_public_id: str | None, code: str) -> tuple[Conversation, str]:
    """A customer types their member code on this machine's tablet: the conversation (a new one when None) carries
    their customer key from now on, so the assistant recommends from their purchases and their sales there are
    theirs. The code works once. Returns the conversation and the assistant's welcome (their recommendations)."""
    failures_key = _member_code_failure_admit(machine)
    digits = re.sub(r"\D", "", str(code or ""))
    member = (
        MemberCode.objects.select_for_update()
        .select_related("customer")
        .filter(code_hash=_member_code_hash(digits), expires_at__gt=timezone.now())
        .first()
    )
    if len(digits) != MEMBER_CODE_DIGITS or member is None or not member.customer.consent_given:
        cache.incr(failures_key)  # outside the transaction: the failure counts though nothing else is written
        raise ValidationError(_("会員コードが正しくないか、有効期限が切れています。"), details={"field": "code"})
    customer = member.customer
    member.delete()
    if conversation_public_id is None:
        conversation = conversation_start(machine=machine)
    else:
        conversation = conversation_for_client(public_id=conversation_public_id, machine=machine)
    conversation.customer_key = customer.key
    conversation.save(update_fields=["customer_key"])
    picks = recommendations_for(customer=customer, machine=machine)
    welcome = "\n".join([_("おかえりなさい！"), *(pick["reason"] for pick in picks)])
    message_record(conversation=conversation, sender=Message.Sender.ASSISTANT, text=welcome, data={"identified": True})
    return conversation, welcome


@transaction.atomic
def customer_data_delete(*, customer: Customer) -> dict[str, int]:
    """Delete everything kept about the customer: the customer row (LINE id, name, preferences), their conversations
    with every message, picture file, tag and rating, and what the agents' records keep of them (summaries, notes,
    cases, tool arguments: `conversations_delete`); their product requests; their key is blanked on sales and coupon
    uses (the books keep the sales, nameless)."""
    counts = customer_data_forget(customer_key=customer.key)
    conversations = Conversation.objects.filter(Q(customer=customer) | Q(customer_key=customer.key))
    counts |= conversations_delete(conversations=conversations, customer_key=customer.key)
    customer.delete()
    return counts


@transaction.atomic
def conversations_delete(*, conversations, customer_key: str = "") -> dict[str, int]:
    """Delete these conversations with their messages, tags and ratings, the pictures on storage (after the commit),
    and what the agents' records keep of them; `customer_key` also reaches the agents' records kept by key. Used for
    a customer's deletion request and by the retention job, so both apply the same rules."""
    ids = list(conversations.values_list("pk", flat=True))
    messages = Message.objects.filter(conversation_id__in=ids)
    pictures = [name for name in messages.exclude(image="").values_list("image", flat=True) if name]
    counts = conversation_records_forget(conversation_ids=ids, customer_key=customer_key)
    counts["messages_deleted"] = messages.count()
    counts["pictures_deleted"] = len(pictures)
    counts["conversations_deleted"] = Conversation.objects.filter(pk__in=ids).delete()[1].get("chats.Conversation", 0)
    transaction.on_commit(lambda: _pictures_delete(pictures), robust=True)
    return counts


def _pictures_delete(names: list[str]) -> None:
    storage = Message._meta.get_field("image").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the rows are gone either way; a picture left behind is named for whoever cleans up
            logger.exception("Could not delete the stored picture %s of a deleted conversation", name)


# --- conversations and messages -------------------------------------------------------------------------------------


@transaction.atomic
def conversation_start(
    *, machine, channel: str = Conversation.Channel.TABLET, customer: Customer | None = None
) -> Conversation:
    agent = shopkeeper_for_chat()
    conversation = Conversation.objects.create(
        machine=machine,
        channel=channel,
        customer=customer,
        customer_key=customer.key if customer else "",
        agent=agent,
        persona=agent.persona if agent else None,
    )
    # An A/B test (experiments) may assign this conversation another persona.
    persona = requested_persona(conversation=conversation)
    if persona is not None:
        conversation.persona = persona
        conversation.save(update_fields=["persona"])
    return conversation


@transaction.atomic
def message_record(
    *,
    conversation: Conversation,
    sender: str,
    text: str = "",
    tool_name: str = "",
    data=None,
    tokens: int = 0,
    image=None,
) -> Message:
    message = Message(
        conversation=conversation, sender=sender, text=text, tool_name=tool_name, data=data or {}, tokens=tokens
    )
    if image is not None:
        message.image = image
    message.save()
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=message.created_at)
    return message


def tablet_purchase(
    *, machine, conversation_public_id: str | None, items, coupon_code, payment_method: str, idempotency_key: str
):
    """A purchase at the tablet, over its socket or its HTTP fallback alike: made under the customer's key when the
    conversation carries one (a member code), and recorded in the conversation, so the assistant knows the sale is
    theirs (a jam refund without a name). Not one transaction: `purchase_create` commits and charges in steps."""
    customer_key = ""
    if conversation_public_id:
        customer_key = tablet_customer_key(machine=machine, conversation_public_id=conversation_public_id)
    outcome = purchase_create(
        machine=machine,
        items=items,
        coupon_code=coupon_code,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        channel=Sale.Channel.TABLET,
        customer_key=customer_key,
    )
    if conversation_public_id and not outcome.replayed:
        conversation_sale_record(
            machine=machine, conversation_public_id=conversation_public_id, sale_id=outcome.sale.pk
        )
    return outcome


@transaction.atomic
def conversation_sale_record(*, machine, conversation_public_id: str, sale_id: int) -> Message | None:
    """Note in a tablet conversation that its customer bought sale `sale_id` there (a system message), so the
    assistant knows the sale is theirs. A conversation that is not this machine's tablet's is ignored: the sale
    stands whatever the page sent."""
    try:
        conversation = conversation_for_client(public_id=conversation_public_id, machine=machine)
    except ApplicationError:
        return None
    return message_record(conversation=conversation, sender=Message.Sender.SYSTEM, data={"sale_id": sale_id})


def _message_checked(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("メッセージを入力してください。"), details={"field": "message"})
    if len(text) > MAX_CHAT_MESSAGE_LENGTH:
        raise ValidationError(
            _("メッセージは%(max)d文字以内にしてください（%(length)d文字）。")
            % {"max": MAX_CHAT_MESSAGE_LENGTH, "length": len(text)},
            details={"field": "message", "max_length": MAX_CHAT_MESSAGE_LENGTH},
        )
    return text


def chat_turn_begin(
    *,
    machine,
    conversation_public_id: str | None,
    text: str,
    channel: str = Conversation.Channel.TABLET,
    customer: Customer | None = None,
    image=None,
) -> ChatTurn:
    """Check and record the customer's message (starting a conversation when `conversation_public_id` is None) and
    gather what the agent needs: used by the chat API, the tablet socket (which streams the answer) and LINE (whose
    pictures come as `image`, a file stored on the message). A conversation is continued only on its own channel,
    machine and customer (`selectors.conversation_for_client`)."""
    text = _message_checked(text)
    if conversation_public_id is None:
        conversation = conversation_start(machine=machine, channel=channel, customer=customer)
    else:
        conversation = conversation_for_client(
            public_id=conversation_public_id, machine=machine, channel=channel, customer=customer
        )
    message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=text, image=image)
    return chat_turn_context(conversation=conversation, machine=machine, text=text)


def chat_turn_context(*, conversation: Conversation, machine, text: str) -> ChatTurn:
    """What the agent needs to answer `text`, the customer's message already recorded in `conversation`; for a
    customer who consented, what they usually buy (purchase history, time of day, stock) as recommendations, each
    with why, and the reasons as what the shop knows they like."""
    context = None
    if conversation.agent is not None:
        # A tablet conversation names its customer by key once they typed their member code.
        customer = conversation.customer or customer_for_key(key=conversation.customer_key)
        picks = recommendations_for(customer=customer, machine=machine)
        context = ToolContext(
            preferences=tuple(pick["reason"] for pick in picks),
            recommendations=tuple(picks),
            agent=conversation.agent,
            machine=machine,
            conversation_id=conversation.pk,
            customer_key=conversation.customer_key,
            channel=conversation.channel,
            persona=conversation.persona,
            sale_ids=conversation_sale_ids(conversation=conversation),
        )
    return ChatTurn(
        conversation=conversation,
        history=conversation_history(conversation=conversation),
        language=detect_language(text),
        context=context,
    )


def chat_turn_finish(*, turn: ChatTurn, outcome: TurnOutcome | None) -> ChatReply:
    """Record the agent's tool traffic and reply (or the resting notice when there was no agent) and re-tag."""
    if outcome is None:
        text = unavailable_notice(turn.language)
        message_record(conversation=turn.conversation, sender=Message.Sender.ASSISTANT, text=text)
        return ChatReply(conversation=turn.conversation, text=text, agent_available=False)
    message = _turn_messages_record(conversation=turn.conversation, outcome=outcome)
    conversation_tag(conversation=turn.conversation)
    return ChatReply(
        conversation=turn.conversation,
        text=outcome.text,
        actions=outcome.actions,
        agent_available=outcome.answered,
        message_id=message.pk,
    )


@transaction.atomic
def _turn_messages_record(*, conversation: Conversation, outcome: TurnOutcome) -> Message:
    for message in outcome.messages:
        if message.role == "tool":
            message_record(
                conversation=conversation,
                sender=Message.Sender.TOOL,
                tool_name=message.tool_name,
                data={"call_id": message.tool_call_id, "result": message.result},
            )
    tokens = outcome.turn.input_tokens + outcome.turn.output_tokens if outcome.turn else 0
    return message_record(
        conversation=conversation,
        sender=Message.Sender.ASSISTANT,
        text=outcome.text,
        # The turn that wrote it: a rating of this answer is a rating of that turn (and its persona).
        data={"actions": outcome.actions, "turn_id": outcome.turn.pk if outcome.turn else None},
        tokens=tokens,
    )


def chat_message_handle(
    *,
    machine,
    conversation_public_id: str | None,
    text: str,
    channel: str = Conversation.Channel.TABLET,
    customer: Customer | None = None,
    image=None,
) -> ChatReply:
    """Take a customer's message (with a picture as `image`, from LINE) and answer it through the conversation's
    agent.

    Not one transaction on purpose: the customer's message, each tool call (with any guardrail refusal) and the reply
    are each committed by their own service, so a refusal stays on record even if a later step fails.
    """
    turn = chat_turn_begin(
        machine=machine,
        conversation_public_id=conversation_public_id,
        text=text,
        channel=channel,
        customer=customer,
        image=image,
    )
    outcome = None
    if turn.context is not None:
        outcome = agent_turn_run(agent=turn.conversation.agent, context=turn.context, history=turn.history)
    return chat_turn_finish(turn=turn, outcome=outcome)


# --- ratings --------------------------------------------------------------------------------------------------------

MAX_RATING_COMMENT_LENGTH = 500


def _rating_checked(score, comment: str) -> str:
    if score not in (Rating.GOOD, Rating.BAD):
        raise ValidationError(_("評価は「よかった」か「いまいち」で選んでください。"), details={"field": "score"})
    comment = (comment or "").strip()
    if len(comment) > MAX_RATING_COMMENT_LENGTH:
        raise ValidationError(
            _("コメントは%(max)d文字以内にしてください。") % {"max": MAX_RATING_COMMENT_LENGTH},
            details={"field": "comment"},
        )
    return comment


@transaction.atomic
def rating_record(
    *, conversation: Conversation, score: int, message_id: int | None = None, sale_id: int | None = None, comment=""
) -> Rating:
    """The customer's rating of an answer in their conversation (`message_id`) or of their own purchase (`sale_id`):
    one per answer or purchase, a second tap changes it; a comment, when given, is kept with it. Anything not theirs
    is the same NotFound."""
    comment = _rating_checked(score, comment)
    defaults = {"score": score, "persona": conversation.persona, **({"comment": comment} if comment else {})}
    if message_id is not None:
        message = rated_answer(conversation=conversation, message_id=message_id)
        defaults |= {"conversation": conversation, "subject": Rating.Subject.ANSWER, "turn": answer_turn(message)}
        rating, _created = Rating.objects.update_or_create(message=message, defaults=defaults)
        return rating
    if sale_id is None or not customer_owns_sale(conversation=conversation, sale_id=sale_id):
        raise NotFound(_("評価する回答またはご購入が見つかりません。"))
    rating, _created = Rating.objects.update_or_create(
        conversation=conversation, sale_id=sale_id, defaults=defaults | {"subject": Rating.Subject.PURCHASE}
    )
    return rating


def tablet_rating_record(*, machine, conversation_public_id: str, score, message_id, sale_id, comment: str) -> Rating:
    """A rating from the tablet: only in this machine's own tablet conversation (anything else is not found)."""
    conversation = conversation_for_client(public_id=conversation_public_id, machine=machine)
    return rating_record(
        conversation=conversation, score=score, message_id=message_id, sale_id=sale_id, comment=comment
    )


@transaction.atomic
def line_rating_record(*, customer: Customer, machine, score, message_id: int | None, sale_id: int | None) -> Rating:
    """A rating from LINE's quick reply: an answer in one of the customer's own conversations, or their purchase
    (kept on their current LINE conversation, started if there is none)."""
    if message_id is not None:
        conversation = Conversation.objects.filter(customer=customer, messages__pk=message_id).first()
        if conversation is None:
            raise NotFound(_("評価する回答またはご購入が見つかりません。"))
    else:
        conversation = conversation_current_for_customer(customer=customer) or conversation_start(
            machine=machine, channel=Conversation.Channel.LINE, customer=customer
        )
    return rating_record(conversation=conversation, score=score, message_id=message_id, sale_id=sale_id)


@transaction.atomic
def rating_comment_add(*, customer: Customer, comment: str, within_minutes: int = 60) -> Rating | None:
    """A LINE customer's comment after a rating ("意見: ..."): kept on their newest rating of the last hour."""
    rating = latest_rating_of(customer=customer, since=timezone.now() - timedelta(minutes=within_minutes))
    if rating is None:
        return None
    rating.comment = _rating_checked(rating.score, comment)
    rating.save(update_fields=["comment"])
    return rating


# --- tags -----------------------------------------------------------------------------------------------------------

# Small lexicons: a customer's mood is tagged so staff can find unhappy conversations, not scored precisely.
_NEGATIVE = re.compile(
    r"(出てこない|出ない|詰ま|返金|壊れ|最悪|ひどい|まずい|不満|困|怒|遅い|高すぎ|"
    r"\bbroken\b|\brefund\b|\bstuck\b|\bbad\b|\bterrible\b|\bangry\b|\bworst\b)",
    re.I,
)
_POSITIVE = re.compile(
    r"(ありがとう|おいしい|美味しい|最高|助かり|嬉しい|うれしい|好き|いいね|\bthanks?\b|\bgreat\b|\blove\b|\bnice\b)",
    re.I,
)


SUMMARY_LENGTH = 120


def _sentiment(texts: list[str]) -> str:
    negative = sum(len(_NEGATIVE.findall(text)) for text in texts)
    positive = sum(len(_POSITIVE.findall(text)) for text in texts)
    if negative > positive:
        return "negative"
    if positive > negative:
        return "positive"
    return "neutral"


@transaction.atomic
def conversation_tag(*, conversation: Conversation) -> list[ConversationTag]:
    """Tag the conversation with the customer's intents, the products named on either side and the mood."""
    messages = list(
        conversation.messages.filter(sender__in=[Message.Sender.CUSTOMER, Message.Sender.ASSISTANT]).values_list(
            "sender", "text"
        )
    )
    customer_texts = [text for sender, text in messages if sender == Message.Sender.CUSTOMER and text]
    wanted = {(ConversationTag.Kind.INTENT, detect_intent(text)) for text in customer_texts}
    wanted.discard((ConversationTag.Kind.INTENT, "unknown"))
    wanted |= {(ConversationTag.Kind.PRODUCT, sku) for sku in products_mentioned([text for _s, text in messages])}
    wanted.add((ConversationTag.Kind.SENTIMENT, _sentiment(customer_texts)))
    conversation.tags.filter(kind=ConversationTag.Kind.SENTIMENT).exclude(
        value__in=[value for kind, value in wanted if kind == ConversationTag.Kind.SENTIMENT]
    ).delete()
    if customer_texts and not conversation.summary:
        # Until a model writes summaries, the admin list shows what the customer came for: their first message.
        conversation.summary = customer_texts[0][:SUMMARY_LENGTH]
        Conversation.objects.filter(pk=conversation.pk).update(summary=conversation.summary)
    existing = set(conversation.tags.values_list("kind", "value"))
    ConversationTag.objects.bulk_create(
        [ConversationTag(conversation=conversation, kind=kind, value=value) for kind, value in wanted - existing]
    )
    return list(conversation.tags.all())


# --- LINE events ----------------------------------------------------------------------------------------------------


LINE_EVENT_MAX_ATTEMPTS = 20  # about 20 minutes of retries by the re-queue job before an event is given up
LINE_EVENT_OPEN = (
    LineEvent.Status.RECEIVED,
    LineEvent.Status.PROCESSING,
    LineEvent.Status.STORED,
    LineEvent.Status.ANSWERED,
)


class LineEventLeaseLost(Exception):
    """Another worker took the event over (this one outlived its lease): this one stops, writing nothing more."""


def _lease_end():
    return timezone.now() + timedelta(seconds=settings.LINE_EVENT_LEASE_SECONDS)


def line_events_store(*, events: list[dict]) -> None:
    """Write the webhook's events, one row each, in one statement; an event LINE delivers again is not written
    twice (`webhookEventId` is unique). Hand-written (`apps.core.sql.insert`): at hundreds of webhooks a second the
    ORM's `bulk_create` cost several times the INSERT itself, before LINE gets its answer. One statement, atomic on
    its own: no `transaction.atomic` (its BEGIN and COMMIT cost another fifth)."""
    rows = [
        LineEvent(
            webhook_event_id=event["webhookEventId"],
            event_type=str(event.get("type", ""))[:32],
            payload=_without_nul(event),
        )
        for event in events
    ]
    batch([insert(rows, skip_existing="webhook_event_id")])


def _without_nul(value):
    """PostgreSQL's JSON refuses NUL characters, which a customer's text may hold."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def line_event_claim(*, webhook_event_id: str) -> LineEvent | None:
    """Lease an event for processing (one statement, so two workers never both get it): None when it is finished,
    unknown, or leased by a worker whose lease has not run out. A lease that ran out (the worker died) is taken over,
    and processing continues from the step the event reached."""
    now = timezone.now()
    claimed = (
        LineEvent.objects.filter(webhook_event_id=webhook_event_id, status__in=LINE_EVENT_OPEN)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
        .update(
            locked_until=_lease_end(),
            attempts=F("attempts") + 1,
            status=Case(
                When(status=LineEvent.Status.RECEIVED, then=Value(LineEvent.Status.PROCESSING)), default=F("status")
            ),
        )
    )
    return LineEvent.objects.get(webhook_event_id=webhook_event_id) if claimed else None


def _line_event_update(event: LineEvent, **fields) -> LineEvent:
    """Write `fields` if this worker still holds the lease (the `locked_until` it was given is its token)."""
    if not LineEvent.objects.filter(pk=event.pk, locked_until=event.locked_until).update(**fields):
        raise LineEventLeaseLost(event.webhook_event_id)
    for name, value in fields.items():
        setattr(event, name, value)
    return event


@transaction.atomic
def line_event_stored(
    *, event: LineEvent, customer: Customer | None, reply: list[dict] | None, message: Message | None = None
) -> LineEvent:
    """The event's effect is saved: its customer, the customer's `message` (when it asks the model) and the `reply`
    to send (None while the model has yet to answer)."""
    return _line_event_update(
        event,
        status=LineEvent.Status.STORED,
        customer=customer,
        message=message,
        reply=reply,
        locked_until=_lease_end(),
    )


@transaction.atomic
def line_message_store(*, event: LineEvent, machine, customer: Customer, text: str, image=None) -> LineEvent:
    """The customer's words (all of them, up to LINE's 5,000 characters) in their current LINE conversation, and the
    event stored, in one transaction: a retry finds them and never stores them twice."""
    conversation = conversation_current_for_customer(customer=customer) or conversation_start(
        machine=machine, channel=Conversation.Channel.LINE, customer=customer
    )
    message = message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=text, image=image)
    return line_event_stored(event=event, customer=customer, reply=None, message=message)


def line_chat_turn(*, event: LineEvent, machine) -> ChatTurn:
    """The turn answering the event's stored message; the model sees each message clipped to
    MAX_CHAT_MESSAGE_LENGTH (LINE allows 5,000 characters)."""
    message = event.message
    turn = chat_turn_context(conversation=message.conversation, machine=machine, text=message.text)
    turn.history = [
        replace(item, text=item.text[:MAX_CHAT_MESSAGE_LENGTH] + "…")
        if len(item.text) > MAX_CHAT_MESSAGE_LENGTH
        else item
        for item in turn.history
    ]
    return turn


@transaction.atomic
def line_event_answered(*, event: LineEvent) -> LineEvent:
    return _line_event_update(event, status=LineEvent.Status.ANSWERED, locked_until=_lease_end())


@transaction.atomic
def line_event_finish(*, event: LineEvent) -> LineEvent:
    """Done: the event's JSON (which names the LINE user) and the sent reply are not kept."""
    # A customer who had their data deleted in this very event is gone.
    customer = event.customer if event.customer_id and Customer.objects.filter(pk=event.customer_id).exists() else None
    return _line_event_update(
        event,
        status=LineEvent.Status.DONE,
        customer=customer,
        payload={},
        reply=None,
        error="",
        locked_until=None,
        processed_at=timezone.now(),
    )


@transaction.atomic
def line_event_fail(*, event: LineEvent, error: str) -> LineEvent:
    """Record a failed attempt and release the lease, so the re-queue job tries again from the same step; after
    LINE_EVENT_MAX_ATTEMPTS the event is failed for good. The error is redacted (an SDK error names the failing URL,
    which holds the LINE user id)."""
    fields = {"error": redact_text(error)[:1000], "locked_until": None}
    if event.attempts >= LINE_EVENT_MAX_ATTEMPTS:
        fields |= {"status": LineEvent.Status.FAILED, "payload": {}, "reply": None, "processed_at": timezone.now()}
    return _line_event_update(event, **fields)
