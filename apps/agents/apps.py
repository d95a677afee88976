from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AgentsConfig(AppConfig):
    name = "apps.agents"
    label = "agents"
    verbose_name = _("エージェント")
    demo_seeder = "apps.agents.demo.seed"

    def ready(self):
        from apps.agents import receivers
        from apps.agents.tools import handlers  # noqa: F401  (registers every tool in registry.TOOLS)

        receivers.connect()  # each persona's traits_version follows its traits: the prompt cache's key
