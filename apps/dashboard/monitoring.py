"""Anomaly rules: each looks at the shop now and returns the conditions that hold. `alerts_evaluate` (services) turns
conditions into alerts, holding each for its rule's duration before it fires."""

import datetime
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.dashboard import selectors
from apps.dashboard.models import Alert
from apps.inventory import selectors as inventory_selectors


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    message: str
    severity: str = Alert.Severity.WARNING


def is_far_from_usual(observed: int, history: list[int]) -> bool:
    """True when an hour's revenue is unusual against the same hour on earlier days: more than SALES_ANOMALY_SIGMAS
    standard deviations and SALES_ANOMALY_MIN_DEVIATION of the mean away from the mean, in an hour that usually
    sells at least SALES_ANOMALY_MIN_USUAL_YEN (or sold that much now)."""
    if len(history) < 2:
        return False
    usual = statistics.fmean(history)
    if max(usual, observed) < settings.SALES_ANOMALY_MIN_USUAL_YEN:
        return False
    spread = statistics.pstdev(history)
    deviation = abs(observed - usual)
    return (
        deviation > settings.SALES_ANOMALY_SIGMAS * spread
        and deviation > settings.SALES_ANOMALY_MIN_DEVIATION * max(usual, 1)
    )


def sales_anomaly(now: datetime.datetime) -> list[Condition]:
    """The last complete hour against the same hour of the previous SALES_ANOMALY_HISTORY_DAYS days."""
    hour_start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0) - datetime.timedelta(hours=1)
    observed, history = selectors.hour_revenue_history(hour_start=hour_start, days=settings.SALES_ANOMALY_HISTORY_DAYS)
    if not is_far_from_usual(observed, history):
        return []
    usual = round(statistics.fmean(history))
    direction = _("多い") if observed > usual else _("少ない")
    return [
        Condition(
            kind=Alert.Kind.SALES_ANOMALY,
            subject=_("全店"),
            message=_("{hour}時台の売上が¥{observed:,}で、いつも（¥{usual:,}）より大幅に{direction}です。").format(
                hour=hour_start.hour, observed=observed, usual=usual, direction=direction
            ),
        )
    ]


def machine_silent(now: datetime.datetime) -> list[Condition]:
    minutes = settings.MACHINE_SILENT_MINUTES
    return [
        Condition(
            kind=Alert.Kind.MACHINE_SILENT,
            subject=machine["code"],
            severity=Alert.Severity.CRITICAL,
            message=_("自販機 {code} から{minutes}分以上応答がありません（最終 {seen:%H:%M}）。").format(
                code=machine["code"], minutes=minutes, seen=timezone.localtime(machine["last_heartbeat_at"])
            ),
        )
        for machine in selectors.silent_machines(since=now - datetime.timedelta(minutes=minutes))
    ]


def error_rate(now: datetime.datetime) -> list[Condition]:
    window = settings.ERROR_RATE_WINDOW_MINUTES
    usage = selectors.ai_usage(start=now - datetime.timedelta(minutes=window), end=now)
    if usage["turns"] < settings.ERROR_RATE_MIN_TURNS or usage["error_rate"] <= settings.ERROR_RATE_MAX:
        return []
    return [
        Condition(
            kind=Alert.Kind.ERROR_RATE,
            subject="AI",
            severity=Alert.Severity.CRITICAL,
            message=_("直近{window}分のAI応答{turns}件のうち{failures}件が失敗しました（{rate:.0%}）。").format(
                window=window, turns=usage["turns"], failures=usage["failures"], rate=usage["error_rate"]
            ),
        )
    ]


def ai_spend(now: datetime.datetime) -> list[Condition]:
    start, _end = selectors.day_bounds(timezone.localdate(now))
    return [
        Condition(
            kind=Alert.Kind.AI_SPEND,
            subject=row["agent"],
            message=_("{agent}の本日のAI利用料が¥{cost:,}で、1日の予算¥{budget:,}を超えました。").format(
                agent=row["agent"], cost=row["cost_yen"], budget=row["budget_yen"]
            ),
        )
        for row in selectors.agent_spend(start=start)
        if row["cost_yen"] > row["budget_yen"]
    ]


def stockout_expected(now: datetime.datetime) -> list[Condition]:
    """Products whose stock on hand and on order, at the recent rate of sale, runs out before a new delivery could
    arrive (the quickest active supplier's lead time, or SUPPLIER_LEAD_TIME_DAYS for a product no supplier offers)."""
    days = settings.STOCKOUT_VELOCITY_DAYS
    conditions = []
    for product in selectors.product_run_rates(since=now - datetime.timedelta(days=days)):
        if product["sold"] <= 0:
            continue
        lead_time = product["lead_time_days"]
        if lead_time is None:
            lead_time = settings.SUPPLIER_LEAD_TIME_DAYS
        on_hand = product["in_slots"] + product["in_storage"] + product["on_order"]
        days_left = on_hand * days / product["sold"]
        if days_left >= lead_time:
            continue
        conditions.append(
            Condition(
                kind=Alert.Kind.STOCKOUT_EXPECTED,
                subject=product["sku"],
                severity=Alert.Severity.CRITICAL if days_left < 1 else Alert.Severity.WARNING,
                message=_("{name}（{sku}）の在庫{on_hand}個は約{days_left:.1f}日で尽きます（仕入れ{lead}日）。").format(
                    name=product["name_ja"], sku=product["sku"], on_hand=on_hand, days_left=days_left, lead=lead_time
                ),
            )
        )
    return conditions


def _lot_line(lot) -> str:
    where = lot.slot.code if lot.slot_id else lot.product.sku
    return _("{name}×{units}（{where}、{kind} {date:%m/%d}）").format(
        name=lot.product.name_ja, units=lot.quantity, where=where, kind=lot.get_date_kind_display(), date=lot.expires_on
    )


def expiry_soon(now: datetime.datetime) -> list[Condition]:
    """Per machine (and the back room): the lots whose date is today or tomorrow — the daily expiry list staff act
    on (markdown, pull, refill with fresher stock). Today's make it critical."""
    today = timezone.localdate(now)
    conditions = []
    for place, lots in inventory_selectors.expiry_list_by_place(today=today).items():
        due_today = [lot for lot in lots if lot.expires_on == today]
        tomorrow = [lot for lot in lots if lot.expires_on != today]
        parts = []
        if due_today:
            parts.append(_("本日期限: ") + "、".join(_lot_line(lot) for lot in due_today))
        if tomorrow:
            parts.append(_("明日期限: ") + "、".join(_lot_line(lot) for lot in tomorrow))
        conditions.append(
            Condition(
                kind=Alert.Kind.EXPIRY_SOON,
                subject=place or _("倉庫"),
                severity=Alert.Severity.CRITICAL if due_today else Alert.Severity.WARNING,
                message=" ／ ".join(parts) + _("（見切り案は管理画面のロット一覧）"),
            )
        )
    return conditions


def shrinkage(now: datetime.datetime) -> list[Condition]:
    """A machine's (or the back room's) stocktake losses this month over SHRINKAGE_ALERT_PERCENT of its cost of goods
    sold."""
    month = timezone.localdate(now).replace(day=1)
    limit = settings.SHRINKAGE_ALERT_PERCENT
    return [
        Condition(
            kind=Alert.Kind.SHRINKAGE,
            subject=row["place"] or _("倉庫"),
            message=_("{place}の今月の棚卸減耗が¥{loss:,}で、売上原価の{rate}%です（基準{limit}%）。").format(
                place=row["place"] or _("倉庫"), loss=row["loss_yen"], rate=row["rate_percent"], limit=limit
            ),
        )
        for row in selectors.shrinkage_by_machine_month(today=timezone.localdate(now), months=1)
        if row["month"] == month and row["rate_percent"] is not None and row["rate_percent"] > limit
    ]


RULES: list[Callable[[datetime.datetime], list[Condition]]] = [
    sales_anomaly,
    machine_silent,
    error_rate,
    ai_spend,
    stockout_expected,
    expiry_soon,
    shrinkage,
]


def conditions_now(now: datetime.datetime) -> list[Condition]:
    return [condition for rule in RULES for condition in rule(now)]
