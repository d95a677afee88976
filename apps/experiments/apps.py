from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"

    def ready(self):
        from apps.chats.signals import persona_requested
        from apps.experiments.receivers import persona_for_new_conversation

        persona_requested.connect(persona_for_new_conversation, dispatch_uid="experiments.ab_test_persona")
