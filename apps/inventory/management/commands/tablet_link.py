from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.inventory.selectors import machine_get
from apps.inventory.services import tablet_pairing_code_issue


class Command(BaseCommand):
    help = (
        "Print a one-time link that pairs a tablet with the machine (single use, expires after "
        "TABLET_PAIRING_CODE_MINUTES). The device token is left alone, so tablets already paired stay paired."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="Machine code, e.g. HQ-1F")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="Where the shop answers.")

    def handle(self, *args, code, base_url, **options):
        try:
            machine = machine_get(code=code)
            pairing_code = tablet_pairing_code_issue(machine=machine, actor_label="manage.py tablet_link")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{base_url.rstrip('/')}/tablet/{machine.code}/#pair={pairing_code}")
