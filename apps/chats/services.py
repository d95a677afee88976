"""Writes of the chats app: a customer's message in, the assistant's reply out."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from apps.agents.limits import MAX_CHAT_MESSAGE_LENGTH
from apps.agents.providers.base import ChatMessage
from apps.agents.providers.offline import detect_language
from apps.agents.runtime import agent_turn_run, unavailable_notice
from apps.agents.selectors import shopkeeper_for_chat
from apps.agents.tools.registry import ToolContext
from apps.chats.models import Conversation, Message
from apps.chats.selectors import conversation_for_machine, conversation_history
from apps.core.errors import ValidationError


@dataclass
class ChatReply:
    conversation: Conversation
    text: str
    actions: list[dict] = field(default_factory=list)
    agent_available: bool = True


@transaction.atomic
def conversation_start(*, machine, channel: str = Conversation.Channel.TABLET, customer_key: str = "") -> Conversation:
    agent = shopkeeper_for_chat()
    return Conversation.objects.create(
        machine=machine,
        channel=channel,
        customer_key=customer_key,
        agent=agent,
        persona=agent.persona if agent else None,
    )


@transaction.atomic
def message_record(
    *, conversation: Conversation, sender: str, text: str = "", tool_name: str = "", data=None
) -> Message:
    message = Message.objects.create(
        conversation=conversation, sender=sender, text=text, tool_name=tool_name, data=data or {}
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=message.created_at)
    return message


@transaction.atomic
def _turn_messages_record(*, conversation: Conversation, turn_messages: list[ChatMessage], reply: str, actions) -> None:
    for message in turn_messages:
        if message.role == "tool":
            message_record(
                conversation=conversation,
                sender=Message.Sender.TOOL,
                tool_name=message.tool_name,
                data={"call_id": message.tool_call_id, "result": message.result},
            )
    message_record(conversation=conversation, sender=Message.Sender.ASSISTANT, text=reply, data={"actions": actions})


def chat_message_handle(
    *,
    machine,
    conversation_id: int | None,
    text: str,
    channel: str = Conversation.Channel.TABLET,
    customer_key: str = "",
) -> ChatReply:
    """Take a customer's message and answer it through the conversation's agent.

    Not one transaction on purpose: the customer's message, each tool call (with any guardrail refusal) and the reply
    are each committed by their own service, so a refusal stays on record even if a later step fails.
    """
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("メッセージを入力してください。"), details={"field": "message"})
    if len(text) > MAX_CHAT_MESSAGE_LENGTH:
        raise ValidationError(
            _("メッセージは%(max)d文字以内にしてください（%(length)d文字）。")
            % {"max": MAX_CHAT_MESSAGE_LENGTH, "length": len(text)},
            details={"field": "message", "max_length": MAX_CHAT_MESSAGE_LENGTH},
        )
    if conversation_id is None:
        conversation = conversation_start(machine=machine, channel=channel, customer_key=customer_key)
    else:
        conversation = conversation_for_machine(conversation_id=conversation_id, machine=machine)
    message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=text)
    history = conversation_history(conversation=conversation)
    if conversation.agent is None:
        reply = unavailable_notice(detect_language(text))
        message_record(conversation=conversation, sender=Message.Sender.ASSISTANT, text=reply)
        return ChatReply(conversation=conversation, text=reply, agent_available=False)
    context = ToolContext(
        agent=conversation.agent,
        machine=machine,
        conversation_id=conversation.pk,
        customer_key=conversation.customer_key,
        channel=conversation.channel,
    )
    outcome = agent_turn_run(agent=conversation.agent, context=context, history=history)
    _turn_messages_record(
        conversation=conversation, turn_messages=outcome.messages, reply=outcome.text, actions=outcome.actions
    )
    return ChatReply(
        conversation=conversation, text=outcome.text, actions=outcome.actions, agent_available=outcome.answered
    )
