from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExperimentsConfig(AppConfig):
    name = "apps.experiments"
    label = "experiments"
    verbose_name = _("実験")
    demo_seeder = "apps.experiments.demo.seed"

    def ready(self):
        from apps.experiments import receivers

        receivers.connect()
