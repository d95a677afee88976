from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Create the demo shop: users, products, machine, personas, ... Safe to run again (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Give the demo users a new password (printed once)."
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            # Each app contributes its part through `demo_seeder` on its AppConfig, so core imports no app above it.
            for config in apps.get_app_configs():
                seeder_path = getattr(config, "demo_seeder", None)
                if not seeder_path:
                    continue
                import_string(seeder_path)(stdout=self.stdout, options=options)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
