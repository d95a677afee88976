"""Nothing imports the dashboard, so it listens: model signals of the other apps become live dashboard events and
Prometheus counts. Everything is sent after commit, so a rolled-back sale is neither shown nor counted."""

from django.db import transaction
from django.db.models.signals import post_save

from apps.agents.models import AgentTurn, GuardrailViolation
from apps.chats.models import Rating
from apps.dashboard import metrics
from apps.dashboard.live import broadcast_on_commit
from apps.dashboard.models import Alert
from apps.dashboard.selectors import alert_event_data, sale_event_data
from apps.inventory.models import PurchaseOrder, Sale, Slot


def _saved(update_fields, field: str) -> bool:
    """True when a save wrote `field` (a save without update_fields writes every field)."""
    return update_fields is None or field in update_fields


def sale_saved(sender, instance: Sale, created: bool, update_fields=None, **kwargs):
    if created:
        channel, total = instance.channel, instance.total_yen

        def count():
            metrics.SALES.labels(channel=channel).inc()
            metrics.SALES_YEN.labels(channel=channel).inc(total)

        transaction.on_commit(count)
    # A purchase attempt (pending, or failed: declined or given up) is not a sale yet: it is announced when it
    # completes, as the dashboard's figures count it.
    if (created or _saved(update_fields, "status")) and instance.status not in Sale.ATTEMPT_STATES:
        broadcast_on_commit({"type": "sale", "sale": sale_event_data(instance)})


def slot_saved(sender, instance: Slot, created: bool, update_fields=None, **kwargs):
    if not created and instance.product_id and instance.quantity == 0 and _saved(update_fields, "quantity"):
        transaction.on_commit(metrics.STOCKOUTS.inc)


def agent_turn_saved(sender, instance: AgentTurn, created: bool, update_fields=None, **kwargs):
    # turn_record writes a turn once, when it is finished.
    if not _saved(update_fields, "latency_ms"):
        return
    agent = instance.agent.name
    input_tokens, output_tokens, latency = instance.input_tokens, instance.output_tokens, instance.latency_ms / 1000
    cost = float(instance.cost_yen)

    def count():
        metrics.AI_TOKENS.labels(agent=agent, direction="input").inc(input_tokens)
        metrics.AI_TOKENS.labels(agent=agent, direction="output").inc(output_tokens)
        metrics.AI_COST_YEN.labels(agent=agent).inc(cost)
        metrics.AI_REPLY_LATENCY.labels(agent=agent).observe(latency)

    transaction.on_commit(count)


def violation_saved(sender, instance: GuardrailViolation, created: bool, **kwargs):
    if created:
        rule = instance.rule
        transaction.on_commit(lambda: metrics.BLOCKED_TOOL_CALLS.labels(rule=rule).inc())


def _alert_line_push(alert_id: int) -> None:
    # The tasks bring the dashboard's, chats' and agents' services (0.2 s of imports): loaded by the first firing
    # alert, not by every process's start (docs/architecture.md, start-up).
    from apps.dashboard.tasks import alert_line_push

    alert_line_push.delay(alert_id)


def alert_saved(sender, instance: Alert, created: bool, update_fields=None, **kwargs):
    if created or _saved(update_fields, "state"):
        broadcast_on_commit({"type": "alert", "alert": alert_event_data(instance)})
        if instance.state == Alert.State.FIRING:
            alert_id = instance.pk
            transaction.on_commit(lambda: _alert_line_push(alert_id))


def purchase_order_saved(sender, instance: PurchaseOrder, created: bool, update_fields=None, **kwargs):
    if created or _saved(update_fields, "status"):
        broadcast_on_commit({"type": "order", "order": {"id": instance.pk, "status": instance.status}})


def rating_saved(sender, instance: Rating, created: bool, **kwargs):
    """A customer rated an answer or a purchase (or changed their rating): the page's satisfaction is renewed."""
    broadcast_on_commit({"type": "rating", "rating": {"id": instance.pk, "score": instance.score}})


def connect() -> None:
    post_save.connect(rating_saved, sender=Rating, dispatch_uid="dashboard.rating_saved")
    post_save.connect(sale_saved, sender=Sale, dispatch_uid="dashboard.sale_saved")
    post_save.connect(slot_saved, sender=Slot, dispatch_uid="dashboard.slot_saved")
    post_save.connect(agent_turn_saved, sender=AgentTurn, dispatch_uid="dashboard.agent_turn_saved")
    post_save.connect(violation_saved, sender=GuardrailViolation, dispatch_uid="dashboard.violation_saved")
    post_save.connect(alert_saved, sender=Alert, dispatch_uid="dashboard.alert_saved")
    post_save.connect(purchase_order_saved, sender=PurchaseOrder, dispatch_uid="dashboard.purchase_order_saved")
