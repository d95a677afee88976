from importlib import import_module

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

# The data migrations that seed the chart of accounts and the ledger row; each seeder is idempotent.
CHART_SEEDERS = [
    ("0002_chart_of_accounts_and_guards", "seed_chart"),
    ("0003_payment_fee_account", "add_account"),
    ("0009_provider_receivables", "add_accounts"),
    ("0010_books_close_the_month", "add_accounts"),
]


def _ensure_books(sender, apps=global_apps, **kwargs):
    """Re-seed after a flush (transactional tests empty every table, then send post_migrate without `apps`)."""
    for module, function in CHART_SEEDERS:
        getattr(import_module(f"apps.accounting.migrations.{module}"), function)(apps, None)


class AccountingConfig(AppConfig):
    name = "apps.accounting"
    label = "accounting"
    verbose_name = _("会計")
    demo_seeder = "apps.accounting.demo.seed"

    def ready(self):
        from apps.accounting import closing

        post_migrate.connect(_ensure_books, sender=self, dispatch_uid="accounting.ensure_books")
        closing.register_close_check("payables", closing.payables_check)
        closing.register_close_check("consumption_tax", closing.consumption_tax_check)
