import json

from django.core.management.base import BaseCommand, CommandError

from apps.core.money import format_yen
from apps.core.progress import progress_bar
from apps.experiments.sim.agents import AGENTS, make_agent
from apps.experiments.sim.episode import run_episode
from apps.experiments.sim.world import World


class Command(BaseCommand):
    help = (
        "Run one simulated shop episode with a baseline agent and print its final net worth and a summary; with "
        "--seeds N, run N seeds from --seed on every core and print their spread and the shop-days per second."
    )
    # The simulator touches no database, URL or template: Django's system checks (which import every URLconf, view
    # and API schema) would take longer than the year it simulates.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1, help="The seed, or the first of --seeds.")
        parser.add_argument("--seeds", type=int, default=1, help="How many seeds, from --seed on (default 1).")
        parser.add_argument(
            "--workers", type=int, default=None, help="Processes for --seeds (default: every core of this machine)."
        )
        parser.add_argument("--agent", choices=sorted(AGENTS), default="heuristic")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one machine-readable line instead."
        )

    def handle(self, *args, days, seed, seeds, workers, agent, as_json, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if seed < 0:
            raise CommandError("--seed must be 0 or more.")
        if seeds < 1:
            raise CommandError("--seeds must be at least 1.")
        if workers is not None and workers < 1:
            raise CommandError("--workers must be at least 1.")
        if seeds > 1:
            self._many(days=days, first_seed=seed, seeds=seeds, workers=workers, agent=agent, as_json=as_json)
        else:
            self._one(days=days, seed=seed, agent=agent, as_json=as_json)

    def _one(self, *, days: int, seed: int, agent: str, as_json: bool) -> None:
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

    def _many(self, *, days: int, first_seed: int, seeds: int, workers: int | None, agent: str, as_json: bool) -> None:
        # Process pools (multiprocessing) load only for a run of many seeds: one episode starts without them (the
        # start-up rule in docs/architecture.md).
        from apps.experiments.sim.parallel import available_cores, run_seeds

        description = f"{agent} seeds {first_seed}–{first_seed + seeds - 1}"
        with progress_bar(self.stderr, description=description, total=seeds) as advance:
            result = run_seeds(
                world=World(),
                seeds=range(first_seed, first_seed + seeds),
                days=days,
                agent=agent,
                workers=workers or available_cores(),
                on_chunk=advance,
            )
        final = result.final_net_worth
        summary = {
            "agent": agent,
            "days": days,
            "seeds": result.seeds,
            "final_net_worth_yen": final.tolist(),
            "bankrupt": int((result.bankrupt_day >= 0).sum()),
            "workers": result.workers,
            "elapsed_seconds": result.elapsed_seconds,
            "shop_days_per_second": result.shop_days_per_second,
            "shop_days_per_second_per_core": result.shop_days_per_second_per_core,
        }
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, separators=(",", ":")))
            return
        self.stdout.write(
            f"agent {agent}, seeds {first_seed}–{first_seed + seeds - 1}, {days} days\n"
            f"  final net worth: mean {format_yen(round(float(final.mean())))}, "
            f"min {format_yen(int(final.min()))}, max {format_yen(int(final.max()))}; "
            f"bankrupt {summary['bankrupt']} of {seeds}\n"
            f"  {result.shop_days:,} shop-days in {result.elapsed_seconds:.2f} s on {result.workers} processes: "
            f"{result.shop_days_per_second:,.0f} shop-days/s in total, "
            f"{result.shop_days_per_second_per_core:,.0f} per core"
        )
