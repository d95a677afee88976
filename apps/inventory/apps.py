from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "apps.inventory"
    label = "inventory"
    verbose_name = "ショップ（在庫・販売）"
    # Called by `manage.py seed_demo`: machine HQ-1F, its slots, the catalogue and back-room stock.
    demo_seeder = "apps.inventory.demo.seed"

    def ready(self):
        from celery.signals import worker_ready

        from apps.inventory import procurement_signals

        procurement_signals.connect()
        worker_ready.connect(reconcile_purchases_on_start, weak=False)


def reconcile_purchases_on_start(**kwargs) -> None:
    """A worker that starts after a crash settles the purchases the crash left pending without waiting for beat."""
    from apps.inventory.tasks import purchase_attempts_reconcile

    purchase_attempts_reconcile.delay()
