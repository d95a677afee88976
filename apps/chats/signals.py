"""Signals chats sends for apps above it (experiments), so chats never imports them.

`persona_requested` is sent when a conversation starts, with `conversation`, `customer_key`, `channel` and `machine`.
A receiver may answer with an `agents.Persona` for this conversation (an A/B test assigning a variant); the first
non-None answer wins and is stored on the conversation.
"""

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

persona_requested = Signal()


def requested_persona(*, conversation):
    """The persona a receiver asked for this new conversation, or None. A receiver that fails is logged and
    ignored: an experiment must never stop a customer from chatting."""
    answers = persona_requested.send_robust(
        sender=type(conversation),
        conversation=conversation,
        customer_key=conversation.customer_key,
        channel=conversation.channel,
        machine=conversation.machine,
    )
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("persona_requested receiver %r failed", receiver, exc_info=answer)
        elif answer is not None:
            return answer
    return None
