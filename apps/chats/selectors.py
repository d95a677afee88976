"""Reads of conversations."""

from django.utils.translation import gettext as _

from apps.agents.providers.base import ChatMessage
from apps.chats.models import Conversation, Message
from apps.core.errors import NotFound


def conversation_for_machine(*, conversation_id: int, machine) -> Conversation:
    """The conversation, only if it was held at this machine: a tablet never reads another machine's chats."""
    conversation = (
        Conversation.objects.select_related("agent", "persona").filter(pk=conversation_id, machine=machine).first()
    )
    if conversation is None:
        raise NotFound(_("会話 %(id)s はこの自販機にはありません。") % {"id": conversation_id})
    return conversation


def conversation_history(*, conversation: Conversation, limit: int = 20) -> list[ChatMessage]:
    """The last `limit` customer and assistant messages, oldest first, as the provider sees them. Earlier turns' tool
    traffic stays in the decision log: a provider gets each turn's tool results within that turn."""
    messages = (
        conversation.messages.filter(sender__in=[Message.Sender.CUSTOMER, Message.Sender.ASSISTANT])
        .order_by("-created_at", "-id")
        .values_list("sender", "text")[:limit]
    )
    role = {Message.Sender.CUSTOMER: "user", Message.Sender.ASSISTANT: "assistant"}
    return [ChatMessage(role=role[sender], text=text) for sender, text in reversed(list(messages))]
