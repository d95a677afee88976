from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "apps.agents"
    label = "agents"
    verbose_name = "エージェント"
    demo_seeder = "apps.agents.demo.seed"

    def ready(self):
        # Registers every tool in apps.agents.tools.registry.TOOLS.
        from apps.agents.tools import handlers  # noqa: F401
