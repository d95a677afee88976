from django.apps import AppConfig


class AccountingConfig(AppConfig):
    name = "apps.accounting"
    label = "accounting"
    verbose_name = "会計"
    demo_seeder = "apps.accounting.demo.seed"
