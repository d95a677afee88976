"""Receivers of other apps' signals; connected in `ExperimentsConfig.ready`."""

from apps.chats.signals import persona_requested
from apps.experiments.services import exposure_record


def persona_for_new_conversation(sender, *, conversation, customer_key, channel, machine, **kwargs):
    """`chats.signals.persona_requested`: the A/B test variant's persona for this conversation, if a test runs."""
    return exposure_record(conversation=conversation, customer_key=customer_key, channel=channel, machine=machine)


def connect() -> None:
    persona_requested.connect(persona_for_new_conversation, dispatch_uid="experiments.ab_test_persona")
