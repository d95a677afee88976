"""Engagement pushes on LINE: consent, quiet hours, the weekly cap per customer, the monthly quota, and who gets
which message."""

import datetime

import pytest
from django.utils import timezone

from apps.chats.models import Customer
from apps.chats.services import customer_consent_set, customer_for_line_user, customer_push_opt_out_set
from apps.core.errors import Conflict
from apps.dashboard import tasks
from apps.dashboard.models import LinePush
from apps.dashboard.monitoring import Condition
from apps.dashboard.services import alerts_apply, engagement_run, line_push_send
from apps.inventory.models import Coupon, StockMovement
from tests.factories import HistoricSaleFactory, ProductFactory, SlotFactory, stock_slot

pytestmark = pytest.mark.django_db

# Wednesday 18 November 2026, Tokyo.
DAY = datetime.date(2026, 11, 18)


def tokyo(hour: int, minute: int = 0, *, days: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(DAY, datetime.time(hour, minute))) + datetime.timedelta(
        days=days
    )


def line_customer(
    number: int = 1,
    *,
    consent: bool = True,
    seen: datetime.datetime | None = None,
    consented: datetime.datetime | None = None,
) -> Customer:
    """A LINE customer last seen at `seen` (default noon on DAY) who consented at `consented` (default: then)."""
    customer = customer_for_line_user(line_user_id=f"U{number:032x}", display_name=f"お客様{number}")
    if consent:
        customer_consent_set(customer=customer, given=True)
    seen = seen or tokyo(12)
    Customer.objects.filter(pk=customer.pk).update(
        last_seen_at=seen, consent_at=(consented or seen) if consent else None
    )
    customer.refresh_from_db()
    return customer


# Regulars: consented a month ago, in the shop this morning (no welcome, no nudge due).
REGULAR = {"seen": tokyo(9), "consented": tokyo(9, days=-30)}


class FakeLine:
    """Stands in for LINE's Messaging API (an outside peer)."""

    def __init__(self, failing: bool = False):
        self.failing = failing
        self.pushed: list[tuple[int, str]] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def push(self, *, customer, messages: list) -> bool:
        if self.failing:
            raise ConnectionError("LINE is down")
        if customer.push_opt_out:
            return False
        self.pushed.extend((customer.pk, message.text) for message in messages)
        return True


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send(customer, *, at, line=None, kind="new_product"):
        with django_capture_on_commit_callbacks(execute=True):
            push = line_push_send(
                customer=customer, kind=kind, text="新しいお茶が入りました！", sender=line or FakeLine(), now=at
            )
        push.refresh_from_db()
        return push

    return send


def refusal(send, customer, *, at) -> str:
    with pytest.raises(Conflict) as refused:
        send(customer, at=at)
    return refused.value.code


# --- the rules -----------------------------------------------------------------------------------------------------


def test_a_consented_customer_gets_the_push_and_it_is_recorded(send):
    customer, line = line_customer(), FakeLine()
    push = send(customer, at=tokyo(12), line=line)
    assert line.pushed == [(customer.pk, "新しいお茶が入りました！")]
    assert (push.status, push.customer, push.kind) == (LinePush.Status.SENT, customer, "new_product")


def test_no_push_without_consent_or_after_opting_out(send):
    assert refusal(send, line_customer(1, consent=False), at=tokyo(12)) == "no_consent"
    blocked = line_customer(2)
    customer_push_opt_out_set(customer=blocked, opted_out=True)
    assert refusal(send, blocked, at=tokyo(12)) == "opted_out"
    assert not LinePush.objects.exists()


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"),
    [(8, 59, False), (9, 0, True), (20, 59, True), (21, 0, False), (23, 30, False), (0, 0, False)],
)
def test_never_between_21_and_9_in_tokyo(send, hour, minute, allowed):
    customer = line_customer()
    if allowed:
        assert send(customer, at=tokyo(hour, minute)).status == LinePush.Status.SENT
    else:
        assert refusal(send, customer, at=tokyo(hour, minute)) == "quiet_hours"


def test_at_most_two_pushes_in_any_seven_days_per_customer(send):
    customer = line_customer()
    send(customer, at=tokyo(10))
    send(customer, at=tokyo(15, days=2))
    assert refusal(send, customer, at=tokyo(10, days=6)) == "weekly_cap"
    # Someone else is not held back by this customer's pushes.
    assert send(line_customer(2), at=tokyo(10, days=6)).status == LinePush.Status.SENT
    # Seven days after the first, one slot is free again.
    assert send(customer, at=tokyo(10, 1, days=7)).status == LinePush.Status.SENT


def test_never_past_the_monthly_quota_of_the_line_plan(send, settings):
    settings.LINE_MONTHLY_PUSH_QUOTA = 3
    for number in range(3):
        send(line_customer(number), at=tokyo(12))
    late = line_customer(9)
    assert refusal(send, late, at=tokyo(12, days=12)) == "monthly_quota"
    # 1 December: a new month, a new quota.
    assert send(late, at=tokyo(12, days=13)).status == LinePush.Status.SENT


def test_a_push_that_fails_at_line_is_recorded_and_does_not_count(send, settings):
    settings.LINE_MONTHLY_PUSH_QUOTA = 1
    customer = line_customer()
    failed = send(customer, at=tokyo(12), line=FakeLine(failing=True))
    assert failed.status == LinePush.Status.FAILED and "LINE is down" in failed.error
    assert send(customer, at=tokyo(13)).status == LinePush.Status.SENT


def test_pushes_still_count_after_the_customer_is_deleted(send, settings):
    settings.LINE_MONTHLY_PUSH_QUOTA = 1
    gone = line_customer(1)
    send(gone, at=tokyo(12))
    gone.delete()
    assert refusal(send, line_customer(2), at=tokyo(13)) == "monthly_quota"


# --- who gets which message ----------------------------------------------------------------------------------------


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    line = FakeLine()

    def run(at):
        with django_capture_on_commit_callbacks(execute=True):
            counts = engagement_run(sender=line, now=at)
        return counts

    run.line = line
    return run


def texts_for(line: FakeLine, customer: Customer) -> list[str]:
    return [text for pk, text in line.pushed if pk == customer.pk]


def test_a_consented_follow_gets_a_two_message_welcome_series(run):
    customer = line_customer(seen=tokyo(12))
    assert run(tokyo(18)) == {}  # the same day: too soon
    assert run(tokyo(12, days=1)) == {"welcome": 1}
    assert run(tokyo(12, days=2)) == {}
    assert run(tokyo(12, days=3)) == {"welcome": 1}
    assert list(LinePush.objects.order_by("id").values_list("subject", flat=True)) == ["1", "2"]
    assert "友だち追加ありがとうございます" in texts_for(run.line, customer)[0]


def test_a_favourite_that_arrives_is_announced_once(run, machine):
    customer = line_customer(**REGULAR)
    tea = ProductFactory(sku="D001", name_ja="緑茶")
    slot = stock_slot(SlotFactory(machine=machine, product=tea), 1)
    sale = HistoricSaleFactory(machine=machine, customer_key=customer.key, created_at=tokyo(12, days=-1))
    sale.lines.create(
        slot=slot, product=tea, quantity=2, unit_price_yen=150, tax_rate=8, total_yen=300, unit_cost_yen=70
    )
    # The tea's first stock arrived at 11:00, so it is also "new": the favourite comes first.
    StockMovement.objects.update(created_at=tokyo(11))
    assert run(tokyo(12)) == {"favourite_restocked": 1}
    assert texts_for(run.line, customer) == ["いつもの「緑茶」が入荷しました。売り切れる前にどうぞ！"]
    # Next run: the favourite was announced; the new product (the same tea) still is to come once.
    assert run(tokyo(13)) == {"new_product": 1}
    assert run(tokyo(14)) == {}


def test_a_new_product_in_a_slot_is_announced_once_to_each_customer(run, machine, settings):
    settings.ENGAGEMENT_WEEKLY_CAP = 10
    first, second = line_customer(1, **REGULAR), line_customer(2, **REGULAR)
    stock_slot(SlotFactory(machine=machine, product=ProductFactory(sku="N1", name_ja="抹茶ラテ", price_yen=180)), 3)
    StockMovement.objects.update(created_at=tokyo(11, days=-6))
    assert run(tokyo(12)) == {"new_product": 2}
    assert texts_for(run.line, first) == texts_for(run.line, second) == ["新商品「抹茶ラテ」（¥180）が入りました。"]
    assert run(tokyo(13)) == {}
    # A week after its first stock it is no longer new.
    stock_slot(SlotFactory(machine=machine, product=ProductFactory(sku="N2", name_ja="ほうじ茶")), 3)
    StockMovement.objects.filter(product__sku="N2").update(created_at=tokyo(11, days=-8))
    assert run(tokyo(14)) == {}


def test_a_loyal_customer_gets_a_coupon_within_the_budget(run, machine, settings):
    settings.ENGAGEMENT_MONTHLY_COUPON_BUDGET_YEN = 100
    loyal, also_loyal = line_customer(1), line_customer(2)
    now = tokyo(12, days=20)
    for customer in (loyal, also_loyal):
        for days_ago in range(5):
            HistoricSaleFactory(
                machine=machine, customer_key=customer.key, created_at=now - datetime.timedelta(days=days_ago)
            )

    assert run(now) == {"loyalty_coupon": 1}

    coupon = Coupon.objects.get()
    assert (coupon.kind, coupon.value, coupon.max_uses) == ("yen", 100, 1)
    assert texts_for(run.line, loyal) == [
        f"いつもありがとうございます！次のお買い物で使える100円引きクーポンです: {coupon.code}"
    ]
    assert texts_for(run.line, also_loyal) == []  # the month's coupon budget is spent


def test_a_refused_coupon_push_leaves_no_coupon(run, machine):
    customer = line_customer(seen=tokyo(12, days=-30))
    for days_ago in range(5):
        HistoricSaleFactory(machine=machine, customer_key=customer.key, created_at=tokyo(12, days=-days_ago))
    assert run(tokyo(22)) == {"quiet_hours": 1}
    assert not Coupon.objects.exists()


def test_one_nudge_after_seven_idle_days_and_none_again_until_the_next_visit(run):
    customer = line_customer(seen=tokyo(12, days=-30))
    Customer.objects.filter(pk=customer.pk).update(last_seen_at=tokyo(12))
    assert run(tokyo(12, days=6)) == {}
    assert run(tokyo(12, days=7)) == {"idle_nudge": 1}
    assert run(tokyo(12, days=10)) == {}
    Customer.objects.filter(pk=customer.pk).update(last_seen_at=tokyo(12, days=11))
    assert run(tokyo(12, days=18)) == {"idle_nudge": 1}


def test_the_scheduled_job_pushes_only_when_line_is_configured(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    line_customer(seen=tokyo(12, days=-1))
    monkeypatch.setattr(timezone, "now", lambda: tokyo(12))
    settings.ENGAGEMENT_PUSH_SENDER = "tests.dashboard.test_engagement.FakeLine"
    settings.LINE_CHANNEL_ACCESS_TOKEN = ""
    with django_capture_on_commit_callbacks(execute=True):
        tasks.engagement.delay()
    assert not LinePush.objects.exists()

    settings.LINE_CHANNEL_ACCESS_TOKEN = "configured-in-this-test"
    with django_capture_on_commit_callbacks(execute=True):
        tasks.engagement.delay()
    assert list(LinePush.objects.values_list("kind", "status")) == [("welcome", "sent")]


# --- alerts to the managers' LINE accounts -------------------------------------------------------------------------


MANAGER_LINE_ID = "U" + "f" * 32


class RecordingLine(FakeLine):
    """The job builds its own client; this one keeps what every instance pushed."""

    sent: list[tuple[str, str]] = []

    def push(self, *, customer, messages: list) -> bool:
        RecordingLine.sent.extend((customer.line_user_id, message.text) for message in messages)
        return True


@pytest.fixture
def line_for_managers(settings):
    RecordingLine.sent = []
    settings.ENGAGEMENT_PUSH_SENDER = "tests.dashboard.test_engagement.RecordingLine"
    settings.LINE_CHANNEL_ACCESS_TOKEN = "configured-in-this-test"
    settings.ALERT_LINE_USER_IDS = [MANAGER_LINE_ID]
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 10}
    return RecordingLine


def silent_machine() -> Condition:
    return Condition(kind="machine_silent", subject="HQ-1F", message="10分以上応答がありません", severity="critical")


def test_a_firing_alert_is_pushed_to_the_managers_line(line_for_managers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alerts_apply(conditions=[silent_machine()], now=tokyo(23))
    assert line_for_managers.sent == []  # pending: not yet

    with django_capture_on_commit_callbacks(execute=True):
        alerts_apply(conditions=[silent_machine()], now=tokyo(23, 10))

    assert line_for_managers.sent == [(MANAGER_LINE_ID, "【VendBot】自販機の応答なし: 10分以上応答がありません")]
    assert LinePush.objects.get().status == LinePush.Status.SENT


def test_alerts_stay_off_line_past_the_monthly_quota(line_for_managers, settings, django_capture_on_commit_callbacks):
    settings.LINE_MONTHLY_PUSH_QUOTA = 0
    settings.ALERT_HOLD_MINUTES = {**settings.ALERT_HOLD_MINUTES, "machine_silent": 0}
    with django_capture_on_commit_callbacks(execute=True):
        alerts_apply(conditions=[silent_machine()], now=tokyo(12))
    assert line_for_managers.sent == [] and not LinePush.objects.exists()
