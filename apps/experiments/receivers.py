"""Receivers of other apps' signals; connected in `ExperimentsConfig.ready`."""

from apps.chats.signals import persona_requested


def persona_for_new_conversation(sender, *, conversation, customer_key, channel, machine, **kwargs):
    """`chats.signals.persona_requested`: the A/B test variant's persona for this conversation, if a test runs."""
    # The experiments' services (the arena, statistics, the simulator's process pool) load with the first new
    # conversation, not at every process's start (docs/architecture.md, start-up).
    from apps.experiments.services import exposure_record

    return exposure_record(conversation=conversation, customer_key=customer_key, channel=channel, machine=machine)


def connect() -> None:
    persona_requested.connect(persona_for_new_conversation, dispatch_uid="experiments.ab_test_persona")
