from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "apps.inventory"
    label = "inventory"
    verbose_name = _("ショップ（在庫・販売）")
    # Called by `manage.py seed_demo`: machine HQ-1F, its slots, the catalogue and back-room stock.
    demo_seeder = "apps.inventory.demo.seed"

    def ready(self):
        from apps.inventory import close_checks, receivers

        receivers.connect()
        close_checks.register()
