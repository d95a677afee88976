import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from apps.core.broadcast import broadcasts_paused


class Command(BaseCommand):
    help = (
        "Create the demo shop from fixtures/demo/: users, products, machine, personas, two months of trading, ... "
        "Safe to run again (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset-passwords", action="store_true", help="Give the demo users a new password (printed once)."
        )
        parser.add_argument(
            "--history-days",
            type=int,
            default=None,
            help="Days of trading history to write (default: fixtures/demo/history.yaml's `days`; 0 for none).",
        )

    def handle(self, *args, **options):
        started = time.monotonic()
        options["progress_stream"] = self.stderr
        # Each app contributes its part through `demo_seeder` on its AppConfig, so core imports no app above it.
        # No transaction around them: the demo sales call the payment gateway, which never runs inside one. Every
        # seeder is idempotent, so a run that failed half-way is completed by the next.
        # Nothing the demo writes is news for the pages open now (it is mostly the past).
        with broadcasts_paused():
            for config in apps.get_app_configs():
                seeder_path = getattr(config, "demo_seeder", None)
                if seeder_path:
                    import_string(seeder_path)(stdout=self.stdout, options=options)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f} s."))
