from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "apps.dashboard"
    label = "dashboard"

    def ready(self):
        from prometheus_client import REGISTRY

        from apps.dashboard import receivers
        from apps.dashboard.metrics import ShopStateCollector

        receivers.connect()
        REGISTRY.register(ShopStateCollector())
