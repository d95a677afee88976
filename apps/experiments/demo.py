"""Demo experiment and A/B test for `seed_demo`.

The heuristic baseline against the offline agent over 20 seeds, run here through the runner's services
(synchronously, inside one transaction, so the workers find every run finished), so the experiments page shows a
finished comparison with its confidence intervals from the first minute. And a running persona A/B test on LINE at
`HQ-1F` (ハル vs ソウタ) with a few consenting LINE customers whose conversations, started through chats'
`conversation_start`, the test's receiver has assigned (exposures).

Idempotent: the experiment and the A/B test of these names are created the first time only."""

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.agents.models import Agent, Persona
from apps.chats.models import Conversation, Message
from apps.chats.services import conversation_start, customer_consent_set, customer_for_line_user, message_record
from apps.experiments.models import ABTest, ABVariant, Experiment, Variant
from apps.experiments.services import ab_test_start, experiment_start, run_execute
from apps.inventory.models import Machine

EXPERIMENT_NAME = "デモ: ヒューリスティック vs オフラインエージェント"
DAYS = 30  # short enough that 40 runs take a few seconds
SEEDS = 20


AB_TEST_NAME = "デモ: LINEの店番ペルソナ ハル vs ソウタ"
AB_PERSONAS = ["ハル", "ソウタ"]
# LINE user id, display name, first message
LINE_CUSTOMERS = [
    ("U" + "d" * 31 + "1", "佐藤", "緑茶ありますか？"),
    ("U" + "d" * 31 + "2", "鈴木", "おにぎりの在庫を教えて"),
    ("U" + "d" * 31 + "3", "高橋", "コーヒー2本ください"),
    ("U" + "d" * 31 + "4", "田中", "甘いものある？"),
    ("U" + "d" * 31 + "5", "伊藤", "昨日のお茶、出てこなかったです"),
    ("U" + "d" * 31 + "6", "渡辺", "おすすめは？"),
]


def seed(*, stdout, options: dict) -> None:
    manager = get_user_model().objects.filter(username="manager").first()
    seed_experiment(stdout=stdout, manager=manager)
    seed_ab_test(stdout=stdout, manager=manager)


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
    for line_user_id, display_name, text in LINE_CUSTOMERS:
        customer = customer_for_line_user(line_user_id=line_user_id, display_name=display_name)
        customer_consent_set(customer=customer, given=True)
        conversation = conversation_start(machine=machine, channel=Conversation.Channel.LINE, customer=customer)
        message_record(conversation=conversation, sender=Message.Sender.CUSTOMER, text=text)
    stdout.write(f"  A/B test: 「{test.name}」 running, {test.exposures.count()} exposures")
