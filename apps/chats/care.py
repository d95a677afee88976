"""Customer care on the customer's channel: staff hear of a new case on LINE, and a staff answer (written in the
admin, stored by `apps.agents.services.case_answer`) reaches the customer where they talked to the assistant.

- LINE: pushed to the customer (one retry key per answer, so a retried task never delivers it twice), and kept in
  the conversation as an assistant message the model sees in later turns.
- Tablet: kept in the conversation; the tablet page asks for staff answers while its conversation has an open case
  (`{"type": "staff_answers"}` over its socket) and shows them. A tablet customer is anonymous: once the page has
  been reset for the next customer, nobody can be told (the answer stays undelivered in the admin).

Writes go through services (`message_record`, `case_reply_delivered`); this module only sends."""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from linebot.v3.messaging import TextMessage

from apps.agents.models import Case, CaseReply
from apps.agents.services import case_reply_delivered
from apps.chats import line_messages as lm
from apps.chats.integrations.line_api import LineMessenger
from apps.chats.models import Conversation, Message
from apps.chats.selectors import conversation_for_client
from apps.chats.services import message_record

logger = logging.getLogger(__name__)

_RETRY_KEYS = uuid.UUID("0c9a7c55-51a4-4f0e-8f63-2f3c1e9b6d10")  # namespace of a staff answer's push retry key


@dataclass(frozen=True)
class StaffOnLine:
    """A staff member's LINE account (CASE_STAFF_LINE_USER_IDS) in the shape LINE's push takes for a customer."""

    line_user_id: str
    push_opt_out: bool = False
    key: str = "staff"


def staff_notice_text(case: Case) -> str:
    return _(
        "【お客様対応 #%(id)s】%(kind)s（%(channel)s）\n%(text)s\n回答期限: %(due)s\n管理画面から回答してください。"
    ) % {
        "id": case.pk,
        "kind": case.get_kind_display(),
        "channel": case.channel or "-",
        "text": case.text[:500],
        "due": timezone.localtime(case.sla_due_at).strftime("%m/%d %H:%M"),
    }


def case_staff_notify(*, case_id: int) -> int:
    """Push the new case to every staff LINE account; returns how many got it. Nothing without LINE configured."""
    staff = [StaffOnLine(line_user_id=line_id) for line_id in settings.CASE_STAFF_LINE_USER_IDS]
    if not staff or not settings.LINE_CHANNEL_ACCESS_TOKEN:
        return 0
    case = Case.objects.get(pk=case_id)
    text = staff_notice_text(case)
    sent = 0
    with LineMessenger() as messenger:
        for member in staff:
            key = str(uuid.uuid5(_RETRY_KEYS, f"case-{case.pk}-{member.line_user_id}"))
            sent += messenger.push(customer=member, messages=[TextMessage(text=text)], retry_key=key)
    logger.info("Case %s announced to %s staff LINE account(s)", case.pk, sent)
    return sent


def staff_answer_text(reply: CaseReply) -> str:
    return _("スタッフからのご連絡（受付番号 %(id)s）：\n%(text)s") % {"id": reply.case_id, "text": reply.text}


@transaction.atomic
def _answer_in_conversation(reply: CaseReply, conversation: Conversation) -> Message:
    """The answer as an assistant message of the conversation, once (a retried task finds it)."""
    existing = conversation.messages.filter(data__case_reply_id=reply.pk).first()
    if existing is not None:
        return existing
    return message_record(
        conversation=conversation,
        sender=Message.Sender.ASSISTANT,
        text=staff_answer_text(reply),
        data={"case_reply_id": reply.pk, "from_staff": True},
    )


def case_reply_deliver(*, reply_id: int) -> CaseReply:
    """Take a staff answer to the customer on the case's channel and record how it went."""
    reply = CaseReply.objects.select_related("case").get(pk=reply_id)
    conversation = (
        Conversation.objects.select_related("customer").filter(pk=reply.case.conversation_id).first()
        if reply.case.conversation_id
        else None
    )
    if conversation is None:
        return case_reply_delivered(reply=reply, via="", error="conversation_gone")
    _answer_in_conversation(reply, conversation)
    if conversation.channel != Conversation.Channel.LINE:
        # The tablet fetches it while the customer is there (`tablet_staff_answers`).
        return case_reply_delivered(reply=reply, via="tablet", error="waiting_for_tablet")
    if conversation.customer is None or not settings.LINE_CHANNEL_ACCESS_TOKEN:
        return case_reply_delivered(reply=reply, via="line", error="line_unreachable")
    with LineMessenger() as messenger:
        pushed = messenger.push(
            customer=conversation.customer,
            messages=lm.text_messages(staff_answer_text(reply)),
            retry_key=str(uuid.uuid5(_RETRY_KEYS, f"reply-{reply.pk}")),
        )
    return case_reply_delivered(reply=reply, via="line", error="" if pushed else "push_opt_out")


def tablet_staff_answers(*, machine, conversation_public_id: str) -> list[dict]:
    """Staff answers to this tablet conversation's cases that the tablet has not shown yet, marked delivered. Only
    the machine's own tablet conversation (`conversation_for_client`: anything else is not found)."""
    conversation = conversation_for_client(public_id=conversation_public_id, machine=machine)
    replies = list(
        CaseReply.objects.filter(
            case__conversation_id=conversation.pk, delivered_at__isnull=True, delivered_via="tablet"
        ).order_by("created_at", "id")
    )
    for reply in replies:
        case_reply_delivered(reply=reply, via="tablet")
    return [{"case": reply.case_id, "text": staff_answer_text(reply)} for reply in replies]
