from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ApplicationError
from apps.inventory.selectors import machine_get
from apps.inventory.services import device_token_issue


class Command(BaseCommand):
    help = "Print a new device token for a machine's tablet (the old one stops working). Shown once, never stored."

    def add_arguments(self, parser):
        parser.add_argument("code", help="Machine code, e.g. HQ-1F")

    def handle(self, *args, code, **options):
        try:
            token = device_token_issue(machine=machine_get(code=code), actor_label="manage.py issue_device_token")
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(token)
