"""Writes of the monitoring jobs: alerts, the daily close, retention cleanup and the weekly report."""

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agents.models import Agent
from apps.agents.services import turn_record
from apps.chats.models import Conversation, Customer
from apps.chats.services import conversations_delete, customer_data_delete, member_codes_expired_delete
from apps.core.errors import Conflict, ValidationError
from apps.core.roles import MANAGER
from apps.dashboard import metrics, selectors
from apps.dashboard.engagement import (
    ManagerOnLine,
    PushSender,
    engagement_candidates,
    monthly_quota_reached,
    push_refusal,
)
from apps.dashboard.models import Alert, DailySummary, LinePush, WeeklyReport
from apps.dashboard.monitoring import Condition, conditions_now
from apps.inventory.models import Coupon, PurchaseRequest, SaleLine
from apps.inventory.services import coupon_issue, product_requests_anonymise

logger = logging.getLogger(__name__)

# The report is written from a template, not by a model: the decision log says so.
REPORT_WRITER = "template"
OPEN_STATES = [Alert.State.PENDING, Alert.State.FIRING]


@transaction.atomic
def alerts_apply(*, conditions: list[Condition], now: datetime.datetime) -> list[Alert]:
    """Bring the alerts in line with the conditions that hold at `now`; returns the alerts whose state changed.

    A new condition opens a pending alert; one that has held for its kind's hold time fires; an open alert whose
    condition no longer holds is cleared. Open alerts are locked, so two overlapping runs cannot both open one.
    """
    holding = {(condition.kind, condition.subject): condition for condition in conditions}
    open_alerts = {
        (alert.kind, alert.subject): alert for alert in Alert.objects.select_for_update().filter(state__in=OPEN_STATES)
    }
    changed = []
    for key, condition in holding.items():
        alert = open_alerts.get(key)
        if alert is None:
            alert = Alert(kind=condition.kind, subject=condition.subject, first_seen_at=now, state=Alert.State.PENDING)
        alert.message, alert.severity, alert.last_seen_at = condition.message, condition.severity, now
        held_long_enough = now - alert.first_seen_at >= datetime.timedelta(
            minutes=settings.ALERT_HOLD_MINUTES[alert.kind]
        )
        fires = alert.state == Alert.State.PENDING and held_long_enough
        if fires:
            alert.state, alert.fired_at = Alert.State.FIRING, now
        if alert.pk is None or fires:
            alert.save()
            changed.append(alert)
        else:
            alert.save(update_fields=["message", "severity", "last_seen_at"])
    for key, alert in open_alerts.items():
        if key in holding:
            continue
        alert.state, alert.cleared_at = Alert.State.CLEARED, now
        alert.save(update_fields=["state", "cleared_at"])
        changed.append(alert)
    return changed


def alerts_evaluate(*, now: datetime.datetime | None = None) -> list[Alert]:
    """Run every anomaly rule against the shop now and update the alerts (see `alerts_apply`)."""
    now = now or timezone.now()
    return alerts_apply(conditions=conditions_now(now), now=now)


@transaction.atomic
def daily_close(*, day: datetime.date) -> DailySummary:
    """Store the day's figures; running it again for the same day replaces them."""
    start, end = selectors.day_bounds(day)
    sales = selectors.sales_totals(start=start, end=end)
    ai = selectors.ai_usage(start=start, end=end)
    summary, _created = DailySummary.objects.update_or_create(
        date=day,
        defaults={
            "revenue_yen": sales["revenue_yen"],
            "transactions": sales["transactions"],
            "gross_margin_yen": sales["gross_margin_yen"],
            "refunds_yen": sales["refunds_yen"],
            "out_of_stock_slots": selectors.stock_state()["out_of_stock_slots"],
            "ai_turns": ai["turns"],
            "ai_tokens": ai["tokens"],
            "ai_cost_yen": ai["cost_yen"],
            "alerts_fired": Alert.objects.filter(fired_at__gte=start, fired_at__lt=end).count(),
        },
    )
    return summary


@transaction.atomic
def retention_cleanup(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete what the shop no longer needs to keep; returns how many rows of each kind went.

    - conversations idle for more than CHAT_RETENTION_DAYS, with everything a deletion request removes of them
      (messages, pictures on storage, ratings, summaries, notes, cases, tool arguments: `chats.conversations_delete`);
    - customers not seen for that long who never consented (`chats.customer_data_delete`, the same rules), and the
      customer key of product requests that old (what was asked for stays, not by whom);
    - coupons that expired more than EXPIRED_COUPON_RETENTION_DAYS ago and were never used (a used coupon stays:
      its sales refer to it);
    - purchase idempotency records older than IDEMPOTENCY_KEY_RETENTION_DAYS (tablets retry within minutes);
    - member codes past their time (chats: a LINE customer's code for a tablet works MEMBER_CODE_MINUTES).

    Celery results need nothing here: the result backend is Redis and every result is written with a TTL of
    CELERY_RESULT_EXPIRES, so Redis drops them itself (and the scheduled jobs store no result at all).
    """
    now = now or timezone.now()

    def older_than(days: int) -> datetime.datetime:
        return now - datetime.timedelta(days=days)

    conversations = Conversation.objects.filter(last_activity_at__lt=older_than(settings.CHAT_RETENTION_DAYS))
    # The same rules as a customer's deletion request: pictures, summaries, cases, tool arguments go with them.
    conversation_count = conversations_delete(conversations=conversations)["conversations_deleted"]
    requests = product_requests_anonymise(created_before=older_than(settings.CHAT_RETENTION_DAYS))
    silent = Customer.objects.filter(consent_given=False, last_seen_at__lt=older_than(settings.CHAT_RETENTION_DAYS))
    for customer in silent:
        customer_data_delete(customer=customer)
    coupons = Coupon.objects.filter(
        valid_until__lt=older_than(settings.EXPIRED_COUPON_RETENTION_DAYS), sales__isnull=True, redemptions__isnull=True
    )
    coupon_count, _deleted = coupons.delete()
    keys_count, _deleted = PurchaseRequest.objects.filter(
        created_at__lt=older_than(settings.IDEMPOTENCY_KEY_RETENTION_DAYS)
    ).delete()
    counts = {
        "conversations": conversation_count,
        "customers": len(silent),
        "product_requests_anonymised": requests,
        "coupons": coupon_count,
        "idempotency_keys": keys_count,
        "member_codes": member_codes_expired_delete(now=now),
    }
    logger.info("Retention cleanup: %s", counts)
    return counts


def _weekly_figures(*, week_start: datetime.date, week_end: datetime.date) -> dict:
    start, _ = selectors.day_bounds(week_start)
    _, end = selectors.day_bounds(week_end)
    previous = selectors.sales_totals(start=start - datetime.timedelta(days=7), end=start)
    top = (
        SaleLine.objects.filter(sale__created_at__gte=start, sale__created_at__lt=end)
        .values("product__name_ja")
        .annotate(
            units=Sum(F("quantity") - F("refunded_quantity")),
            margin=Sum(F("total_yen") - F("unit_cost_yen") * F("quantity")),
        )
        .order_by("-units", "product__name_ja")[:3]
    )
    stockouts = Alert.objects.filter(kind=Alert.Kind.STOCKOUT_EXPECTED).aggregate(
        fired=Count("id", filter=Q(fired_at__gte=start, fired_at__lt=end)),
        products=Count("subject", filter=Q(fired_at__gte=start, fired_at__lt=end), distinct=True),
    )
    closes = DailySummary.objects.filter(date__gte=week_start, date__lte=week_end).aggregate(
        worst=Max("out_of_stock_slots")
    )
    return {
        "sales": selectors.sales_totals(start=start, end=end),
        "previous_revenue_yen": previous["revenue_yen"],
        "top_products": [
            {"name": row["product__name_ja"], "units": row["units"], "gross_margin_yen": row["margin"]} for row in top
        ],
        "stockout_alerts": stockouts["fired"],
        "stockout_products": stockouts["products"],
        "worst_out_of_stock_slots": closes["worst"] or 0,
        "out_of_stock_slots_now": selectors.stock_state()["out_of_stock_slots"],
        "ai": selectors.ai_usage(start=start, end=end),
    }


def weekly_report_text(*, week_start: datetime.date, week_end: datetime.date, figures: dict) -> str:
    """The report in plain Japanese, written from the numbers alone (what the analytics agent does offline)."""
    sales, ai = figures["sales"], figures["ai"]
    previous = figures["previous_revenue_yen"]
    if previous:
        change = _("前週比{change:+.0%}").format(change=(sales["revenue_yen"] - previous) / previous)
    else:
        change = _("前週の売上なし")
    margin_pct = (
        _("粗利率{pct}%").format(pct=sales["gross_margin_pct"]) if sales["gross_margin_pct"] is not None else ""
    )
    lines = [
        _("【週次レポート】{start:%m/%d}〜{end:%m/%d}").format(start=week_start, end=week_end),
        _("売上は¥{revenue:,}（{count}件、{change}）、粗利は¥{margin:,}でした。{pct}").format(
            revenue=sales["revenue_yen"],
            count=sales["transactions"],
            change=change,
            margin=sales["gross_margin_yen"],
            pct=margin_pct,
        ),
    ]
    if figures["top_products"]:
        best = "、".join(
            _("{name}（{units}個・粗利¥{margin:,}）").format(
                name=row["name"], units=row["units"], margin=row["gross_margin_yen"]
            )
            for row in figures["top_products"]
        )
        lines.append(_("よく売れた商品: {best}。").format(best=best))
    lines.append(
        _(
            "欠品見込みのアラートは{alerts}件（{products}商品）、欠品スロットは最大{worst}か所、現在{now}か所です。"
        ).format(
            alerts=figures["stockout_alerts"],
            products=figures["stockout_products"],
            worst=figures["worst_out_of_stock_slots"],
            now=figures["out_of_stock_slots_now"],
        )
    )
    lines.append(
        _("AIの応答は{turns}件、トークン{tokens:,}、利用料は¥{cost:,}でした。").format(
            turns=ai["turns"], tokens=ai["tokens"], cost=ai["cost_yen"]
        )
    )
    return "\n".join(lines)


def _manager_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=MANAGER, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


@transaction.atomic
def weekly_report_create(*, week_start: datetime.date) -> WeeklyReport:
    """The analytics agent's report of the week starting on `week_start` (a Monday), stored and e-mailed to every
    active Manager with an address after commit. Its turn goes into the decision log like any other."""
    if week_start.weekday() != 0:
        raise ValidationError(_("週次レポートは月曜日から始まる週について作ります。"), details={"field": "week_start"})
    week_end = week_start + datetime.timedelta(days=6)
    figures = _weekly_figures(week_start=week_start, week_end=week_end)
    text = weekly_report_text(week_start=week_start, week_end=week_end, figures=figures)
    agent = Agent.objects.filter(kind=Agent.Kind.ANALYTICS).order_by("id").first()
    if agent is not None:
        turn_record(
            agent=agent,
            conversation_id=None,
            provider=REPORT_WRITER,
            model_name="",
            tool_calls=[],
            reply_filtered=[],
            input_tokens=0,
            output_tokens=0,
            latency_ms=0,
        )
    recipients = _manager_emails()
    report, _created = WeeklyReport.objects.update_or_create(
        week_start=week_start,
        defaults={
            "week_end": week_end,
            "agent_name": agent.name if agent else "",
            "figures": figures,
            "text": text,
            "emailed_to": recipients,
        },
    )
    if recipients:
        subject = _("[VendBot] 週次レポート {start:%m/%d}〜{end:%m/%d}").format(start=week_start, end=week_end)
        transaction.on_commit(
            lambda: send_mail(subject=subject, message=text, from_email=None, recipient_list=recipients)
        )
    return report


def _line_push_deliver(*, push_id: int, sender: PushSender, customer: Customer | ManagerOnLine, text: str) -> None:
    """Hand the committed push to LINE; one that does not reach the customer is recorded as failed and stops counting
    toward the cap and the quota."""
    # line-bot-sdk takes most of a second to import: only a process that pushes loads it (the start-up rule in
    # docs/architecture.md; tests/core/test_startup.py).
    from linebot.v3.messaging import TextMessage

    try:
        delivered = sender.push(customer=customer, messages=[TextMessage(text=text)])
        error = "" if delivered else "not reachable (opted out or no LINE id)"
    except Exception as exc:
        logger.warning("LINE push %s failed: %s", push_id, type(exc).__name__)
        delivered, error = False, f"{type(exc).__name__}: {exc}"
    if delivered:
        LinePush.objects.filter(pk=push_id).update(status=LinePush.Status.SENT)
    else:
        metrics.LINE_ERRORS.labels(operation="push").inc()
        LinePush.objects.filter(pk=push_id).update(status=LinePush.Status.FAILED, error=error)


@transaction.atomic
def line_push_send(
    *,
    customer: Customer,
    kind: str,
    text: str,
    sender: PushSender,
    subject: str = "",
    now: datetime.datetime | None = None,
) -> LinePush:
    """Record one engagement push and send it after commit, if every rule of `apps.dashboard.engagement` allows it.

    Raises Conflict with the rule as its code (no_consent, opted_out, quiet_hours, weekly_cap, monthly_quota) and
    ValidationError for an unknown kind or an empty text. The cap and the quota are counts of recorded pushes, so
    pushes go out one at a time (the engagement job runs alone); a push that does not reach LINE stops counting.
    """
    now = now or timezone.now()
    text = (text or "").strip()
    if kind not in LinePush.Kind.values:
        raise ValidationError(_("配信の種類が正しくありません。"), details={"field": "kind"})
    if not text:
        raise ValidationError(_("配信する本文がありません。"), details={"field": "text"})
    refusal = push_refusal(recipient=customer, now=now)
    if refusal is not None:
        raise Conflict(str(refusal.label), code=refusal.value)
    push = LinePush.objects.create(created_at=now, customer=customer, kind=kind, subject=subject, text=text)
    transaction.on_commit(lambda: _line_push_deliver(push_id=push.pk, sender=sender, customer=customer, text=text))
    return push


def engagement_run(*, sender: PushSender, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send each customer's engagement message (see `engagement.engagement_candidates`) that the rules allow now.

    A loyalty coupon is issued in the same transaction as its push, so a refused push leaves no coupon behind.
    Returns counts by kind of pushes queued and by rule of pushes refused.
    """
    now = now or timezone.now()
    counts: dict[str, int] = {}
    for candidate in engagement_candidates(now=now):
        try:
            with transaction.atomic():
                text = candidate.text
                if candidate.kind == LinePush.Kind.LOYALTY_COUPON:
                    coupon = coupon_issue(
                        kind=Coupon.Kind.YEN,
                        value=settings.ENGAGEMENT_COUPON_YEN,
                        valid_days=14,
                        max_uses=1,
                        actor_label="engagement",
                        note=_("常連さん向けLINEクーポン"),
                    )
                    text = text.format(code=coupon.code)
                line_push_send(
                    customer=candidate.customer,
                    kind=candidate.kind,
                    subject=candidate.subject,
                    text=text,
                    sender=sender,
                    now=now,
                )
        except Conflict as refused:
            counts[refused.code] = counts.get(refused.code, 0) + 1
            continue
        counts[candidate.kind] = counts.get(candidate.kind, 0) + 1
    return counts


@transaction.atomic
def alert_line_push(
    *, alert: Alert, line_user_ids: list[str], sender: PushSender, now: datetime.datetime | None = None
) -> list[LinePush]:
    """Tell the managers' LINE accounts that `alert` fired. Quiet hours do not apply (an alert is for the shop's
    people, not a customer), the LINE plan's monthly quota does: past it, the alert stays on the dashboard only."""
    now = now or timezone.now()
    text = _("【VendBot】{kind}: {message}").format(kind=alert.get_kind_display(), message=alert.message)
    pushes = []
    for line_user_id in line_user_ids:
        if monthly_quota_reached(now=now):
            logger.warning("LINE monthly push quota reached: alert %s not pushed to managers", alert.pk)
            break
        push = LinePush.objects.create(
            created_at=now, kind=LinePush.Kind.MANAGER_ALERT, subject=f"alert:{alert.pk}", text=text
        )
        recipient = ManagerOnLine(line_user_id=line_user_id)
        transaction.on_commit(
            lambda push=push, recipient=recipient: _line_push_deliver(
                push_id=push.pk, sender=sender, customer=recipient, text=text
            )
        )
        pushes.append(push)
    return pushes
