import datetime

from django.core.management.base import BaseCommand, CommandError

from apps.accounting.beancount_export import beancount_lines
from apps.core.progress import progress_bar


class Command(BaseCommand):
    help = "Write the books as a Beancount ledger (check it with `bean-check FILE`)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="File to write, e.g. books.beancount")
        parser.add_argument("--through", help="Only entries dated on or before this day (YYYY-MM-DD)")

    def handle(self, *args, out, through=None, **options):
        try:
            through_date = datetime.date.fromisoformat(through) if through else None
        except ValueError as exc:
            raise CommandError(f"--through must be YYYY-MM-DD, not {through!r}") from exc
        count = 0
        with (
            open(out, "w", encoding="utf-8") as ledger,
            progress_bar(self.stderr, description="Beancount lines", total=None) as advance,
        ):
            for line in beancount_lines(through=through_date):
                ledger.write(line + "\n")
                count += 1
                advance(1)
        self.stdout.write(self.style.SUCCESS(f"Wrote {count} lines to {out}"))
