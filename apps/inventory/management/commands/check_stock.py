from django.core.management.base import BaseCommand, CommandError

from apps.inventory.selectors import stock_integrity_problems


class Command(BaseCommand):
    help = (
        "Check that every slot and back-room quantity equals the sum of its stock movements and of its lots; "
        "exits 1 if not."
    )

    def handle(self, *args, **options):
        problems = stock_integrity_problems()
        for problem in problems:
            self.stderr.write(
                f"{problem.place}: recorded {problem.recorded}, {problem.counted_by} add up to {problem.from_movements}"
            )
        if problems:
            raise CommandError(f"{len(problems)} stock quantities differ from their movements or lots.")
        self.stdout.write(
            self.style.SUCCESS("Stock is consistent: every quantity equals the sum of its movements and of its lots.")
        )
