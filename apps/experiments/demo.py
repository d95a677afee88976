"""Demo trading history, experiment and A/B test for `seed_demo`.

First the shop's trading history (`demo_history`), then today's procurement plan (the orders waiting for approval).

The heuristic baseline against the offline agent over 20 seeds, run here through the runner's services
(synchronously, inside one transaction, so the workers find every run finished), so the experiments page shows a
finished comparison with its confidence intervals from the first minute. And a running persona A/B test on LINE at
`HQ-1F` (ハル vs ソウタ) with a few consenting LINE customers whose conversations, started through chats'
`conversation_start`, the test's receiver has assigned (exposures). And an arena leaderboard: the heuristic and the
offline agent on the demo shop's own world for a year, on the shop's policy and without it (in this process: a few
seconds).

Idempotent: the experiment, the A/B test and the leaderboard of these names are created the first time only."""

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.agents.models import Agent, Persona
from apps.chats.models import Conversation, Message
from apps.chats.services import conversation_start, customer_consent_set, customer_for_line_user, message_record
from apps.core.demo import demo_fixture
from apps.experiments import demo_history
from apps.experiments.models import ABTest, ABVariant, ArenaLeaderboard, Experiment, Variant
from apps.experiments.services import ab_test_start, arena_leaderboard_run, experiment_start, run_execute
from apps.inventory.models import Machine, PurchaseOrder
from apps.inventory.services import procurement_plan
from apps.inventory.services.procurement import purchase_order_needs_manager

EXPERIMENT_NAME = "デモ: ヒューリスティック vs オフラインエージェント"
DAYS = 30  # short enough that 40 runs take a few seconds
SEEDS = 20


ARENA_NAME = "デモ: アリーナ 365日 × 5シード"
ARENA_SEEDS = 5  # a year each; `manage.py arena` runs a hundred on every core

AB_TEST_NAME = "デモ: LINEの店番ペルソナ ハル vs ソウタ"
AB_PERSONAS = ["ハル", "ソウタ"]


def seed(*, stdout, options: dict) -> None:
    demo_history.seed(stdout=stdout, options=options)
    seed_purchase_orders(stdout=stdout)
    manager = get_user_model().objects.filter(username="manager").first()
    seed_experiment(stdout=stdout, manager=manager)
    seed_ab_test(stdout=stdout, manager=manager)
    seed_arena(stdout=stdout)


def seed_purchase_orders(*, stdout) -> None:
    """This morning's procurement plan, as the planner's beat job would have made it: the orders it proposes wait
    for a person's approval (with its reasoning), next to whatever the history left waiting."""
    if not PurchaseOrder.objects.exists():
        return  # no history (`--history-days 0`): no sales for the planner to go on
    procurement_plan()
    waiting = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PENDING_HUMAN_APPROVAL)
    for_manager = sum(1 for order in waiting if purchase_order_needs_manager(order))
    partial = PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PARTIALLY_RECEIVED).count()
    stdout.write(
        f"  procurement: {waiting.count()} order(s) waiting for approval ({for_manager} for a Manager), "
        f"{partial} partially received"
    )


def seed_experiment(*, stdout, manager) -> None:
    if Experiment.objects.filter(name=EXPERIMENT_NAME).exists():
        return
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=EXPERIMENT_NAME,
            description="定率マークアップのベースラインと、ツール経由で店を運営するオフラインエージェントの比較。",
            days=DAYS,
            seed_count=SEEDS,
        )
        Variant.objects.create(experiment=experiment, name="ヒューリスティック", agent_kind=Variant.Kind.HEURISTIC)
        Variant.objects.create(
            experiment=experiment,
            name="オフラインエージェント",
            agent_kind=Variant.Kind.LLM,
            provider=Agent.Provider.OFFLINE,
        )
        experiment = experiment_start(experiment=experiment, actor=manager)
        for run in experiment.runs.order_by("pk"):
            run_execute(run_id=run.pk)
    experiment.refresh_from_db()
    stdout.write(
        f"  experiments: 「{experiment.name}」 {experiment.runs.count()} runs, {experiment.get_status_display()}"
    )


def seed_ab_test(*, stdout, manager) -> None:
    """The first time only, and not while a person's own test runs (only one runs at a time)."""
    if (
        ABTest.objects.filter(name=AB_TEST_NAME).exists()
        or ABTest.objects.filter(status=ABTest.Status.RUNNING).exists()
    ):
        return
    machine = Machine.objects.get(code="HQ-1F")
    test = ABTest.objects.create(name=AB_TEST_NAME, channel=Conversation.Channel.LINE, machine=machine)
    for persona in Persona.objects.filter(name__in=AB_PERSONAS).order_by("name"):
        ABVariant.objects.create(test=test, persona=persona)
    test = ab_test_start(test=test, actor=manager)
    for spec in demo_fixture("conversations")["line"]:
        customer = customer_for_line_user(line_user_id=spec["line_user_id"], display_name=spec["name"])
        customer_consent_set(customer=customer, given=True)
        conversation = conversation_start(machine=machine, channel=Conversation.Channel.LINE, customer=customer)
        for asked, answered in spec["exchanges"]:
            message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=asked)
            message_record(conversation=conversation, sender=Message.Sender.ASSISTANT, text=answered)
    stdout.write(f"  A/B test: 「{test.name}」 running, {test.exposures.count()} exposures")


def seed_arena(*, stdout) -> None:
    if ArenaLeaderboard.objects.filter(name=ARENA_NAME).exists():
        return
    board = arena_leaderboard_run(
        name=ARENA_NAME,
        days=365,
        first_seed=1,
        seed_count=ARENA_SEEDS,
        agents=[],
        personas=[None],
        policies=["shop", "none"],
        workers=1,  # inside seed_demo's process and its database connection
    )
    stdout.write(f"  arena: 「{board.name}」 {len(board.rows)} entrants, {board.elapsed_seconds:.1f} s")
