import json

from django.core.management.base import BaseCommand, CommandError

from apps.core.money import format_yen
from apps.core.progress import progress_bar
from apps.experiments.sim.agents import AGENTS, make_agent
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import World


class Command(BaseCommand):
    help = "Run one simulated shop episode with a baseline agent and print its final net worth and a summary."
    # The simulator touches no database, URL or template: Django's system checks (which import every URLconf, view
    # and API schema) would take longer than the year it simulates.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--agent", choices=sorted(AGENTS), default="heuristic")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one machine-readable line instead."
        )

    def handle(self, *args, days, seed, agent, as_json, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if seed < 0:
            raise CommandError("--seed must be 0 or more.")
        world = World()
        with progress_bar(self.stderr, description=f"{agent} seed {seed}", total=days) as advance:
            result = run_episode(
                world=world, seed=seed, days=days, agent=make_agent(agent, world), on_day=lambda day: advance(1)
            )
        summary = result.summary()
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
            return
        self.stdout.write(f"Final net worth: {format_yen(result.final_net_worth)}")
        bankrupt = f"bankrupt on day {result.bankrupt_day}" if result.bankrupt_day is not None else "still trading"
        self.stdout.write(
            f"agent {agent}, seed {seed}, {days} days, {bankrupt}\n"
            f"  cash {format_yen(summary['final_cash_yen'])}, revenue {format_yen(summary['revenue_yen'])}, "
            f"purchases {format_yen(summary['purchases_yen'])}, "
            f"machine fees {format_yen(summary['machine_fees_yen'])}, "
            f"hidden supplier fees {format_yen(summary['hidden_fees_yen'])}\n"
            f"  units sold {summary['units_sold']:,}, wasted {summary['units_wasted']:,}; "
            f"episode took {summary['elapsed_seconds']:.4f} s"
        )
