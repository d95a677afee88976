"""Signals chats sends for apps above it (experiments), so chats never imports them.

`persona_requested` is sent when a conversation starts, with `conversation`, `customer_key`, `channel` and `machine`.
A receiver may answer with an `agents.Persona` for this conversation (an A/B test assigning a variant); the first
non-None answer wins and is stored on the conversation.
"""

from django.dispatch import Signal

persona_requested = Signal()


def requested_persona(*, conversation):
    """The persona a receiver asked for this new conversation, or None."""
    answers = persona_requested.send(
        sender=type(conversation),
        conversation=conversation,
        customer_key=conversation.customer_key,
        channel=conversation.channel,
        machine=conversation.machine,
    )
    return next((persona for _receiver, persona in answers if persona is not None), None)
