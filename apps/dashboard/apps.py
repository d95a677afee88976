from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "apps.dashboard"
    label = "dashboard"
    verbose_name = _("ダッシュボード")

    def ready(self):
        from prometheus_client import REGISTRY

        from apps.dashboard import receivers
        from apps.dashboard.metrics import ShopStateCollector

        receivers.connect()
        REGISTRY.register(ShopStateCollector())
