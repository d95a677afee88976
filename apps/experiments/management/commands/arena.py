import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.agents.models import Persona
from apps.core.errors import ApplicationError
from apps.core.money import format_yen
from apps.experiments import selectors, services
from apps.experiments.arena import leaderboard
from apps.experiments.arena.tools import POLICIES
from apps.experiments.models import ArenaRun


class Command(BaseCommand):
    help = (
        "The agent arena: run agents × personas × policies on the demo shop's world over --seeds seeds and print "
        "(and store) the leaderboard; the heuristic and the offline agent are always entered. --llm enters the model "
        "agent (a key must be set): its estimated cost is shown and it runs only with --budget-yen and --yes. "
        "--replay RUN_ID --day N replays a stored run's day from its seed and trace."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1, help="The first seed.")
        parser.add_argument("--seeds", type=int, default=100)
        parser.add_argument("--agents", default="", help="More agents, comma-separated: tenfold, one_product.")
        parser.add_argument("--personas", default="", help="Persona names, comma-separated (default: none).")
        parser.add_argument("--policies", default=",".join(POLICIES), help="shop (the live policy), none (ablation).")
        parser.add_argument("--workers", type=int, default=None)
        parser.add_argument("--name", default="")
        parser.add_argument("--llm", action="store_true", help="Enter the model agent too.")
        parser.add_argument("--budget-yen", type=int, default=None, help="Model spend at which the model agent stops.")
        parser.add_argument("--yes", action="store_true", help="Run the model agent after showing its estimate.")
        parser.add_argument("--replay", type=int, default=None, metavar="RUN_ID")
        parser.add_argument("--day", type=int, default=0)
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, **options):
        try:
            if options["replay"] is not None:
                return self._replay(options["replay"], options["day"], options["as_json"])
            return self._leaderboard(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    def _leaderboard(self, options) -> None:
        agents = [name for name in options["agents"].split(",") if name] + (["llm"] if options["llm"] else [])
        personas = [self._persona(name) for name in options["personas"].split(",") if name] or [None]
        policies = [name for name in options["policies"].split(",") if name]
        if options["llm"] and not self._model_go_ahead(options, personas, policies):
            return
        board = services.arena_leaderboard_run(
            name=options["name"] or f"arena {options['days']} days × {options['seeds']} seeds",
            days=options["days"],
            first_seed=options["seed"],
            seed_count=options["seeds"],
            agents=agents,
            personas=personas,
            policies=policies,
            workers=options["workers"],
            model_budget_yen=options["budget_yen"],
        )
        if options["as_json"]:
            payload = {"leaderboard": board.pk, "elapsed_seconds": board.elapsed_seconds, "rows": board.rows}
            self.stdout.write(json.dumps(payload, ensure_ascii=False))
            return
        self.stdout.write(self._table(board.rows))
        self.stdout.write(
            f"leaderboard {board.pk}: {board.seed_count} seeds × {board.days} days in {board.elapsed_seconds:.1f} s"
        )

    def _model_go_ahead(self, options, personas, policies) -> bool:
        if not settings.ANTHROPIC_API_KEY:
            raise CommandError("--llm needs ANTHROPIC_API_KEY.")
        runs = len(personas) * len(policies) * options["seeds"]
        estimate = leaderboard.estimated_model_cost_yen(
            model_name=settings.LLM_MODELS["procurement"], days=options["days"], runs=runs
        )
        self.stdout.write(
            f"The model agent: {runs} runs × {options['days']} days, estimated {format_yen(int(estimate))}."
        )
        if not options["budget_yen"]:
            raise CommandError("Give --budget-yen: the model agent stops calling the model once it is spent.")
        if not options["yes"]:
            self.stdout.write("Not run: add --yes to run it within the budget.")
            return False
        return True

    @staticmethod
    def _persona(name: str) -> Persona:
        persona = Persona.objects.filter(name=name).first()
        if persona is None:
            raise CommandError(f"No persona named {name!r}.")
        return persona

    @staticmethod
    def _table(rows: list[dict]) -> str:
        lines = [
            f"{'entrant':<34} {'mean':>11} {'95% interval':>25} {'bankrupt':>8} {'refused/run':>11} {'calls/run':>9} "
            f"{'waste/run':>10} {'model ¥':>8}"
        ]
        for row in rows:
            interval = f"{format_yen(row['ci_low_yen'] or 0)} – {format_yen(row['ci_high_yen'] or 0)}"
            lines.append(
                f"{row['entrant']:<34} {format_yen(row['mean_net_worth_yen']):>11} {interval:>25} "
                f"{row['bankruptcy_rate']:>8.0%} {row['refusals_per_run']:>11.2f} {row['tool_calls_per_run']:>9.0f} "
                f"{format_yen(row['waste_yen_per_run']):>10} {row['model_cost_yen']:>8.0f}"
            )
        return "\n".join(lines)

    def _replay(self, run_id: int, day: int, as_json: bool) -> None:
        run = ArenaRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No arena run {run_id}.")
        replayed = selectors.arena_run_replay(run=run, day=day)
        payload = {"day": day, "matches": replayed.matches, "morning": replayed.morning, "record": replayed.record}
        if not replayed.matches:
            payload["mismatches"] = replayed.mismatches
        self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=None if as_json else 2))
