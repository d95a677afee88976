"""Writes of the agents app: running a tool through the policy, recording refusals and turns, pausing agents."""

import datetime
import logging
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounting.models import EntryKind, JournalEntry
from apps.accounting.postings import post_ai_usage
from apps.accounting.selectors import entry_dates, ledger_state
from apps.agents import selectors
from apps.agents.limits import ESCALATION_THRESHOLD, MAX_CASE_ANSWER_LENGTH
from apps.agents.models import (
    Agent,
    AgentMemory,
    AgentNote,
    AgentTurn,
    BudgetAlert,
    Case,
    CaseReply,
    ConversationSummary,
    CouponGrant,
    Escalation,
    GuardrailViolation,
    LlmUsage,
    Persona,
    SelfServiceRefund,
)
from apps.agents.policy import PolicyRefusal, policy_check
from apps.agents.signals import case_answered, case_opened, send_robust
from apps.agents.sql import agent_mark_busy, agent_mark_idle, usage_add
from apps.agents.tools.registry import TOOLS, ToolContext, ToolResult, tool_names_problem
from apps.core.errors import ApplicationError, Conflict, PermissionDenied, ValidationError
from apps.core.logging import redact
from apps.core.roles import STAFF
from apps.core.services import audit_record
from apps.core.sql import batch, insert, saved
from apps.inventory.services import coupon_notes_forget, sale_refund_undispensed

logger = logging.getLogger(__name__)


def tool_call(*, context: ToolContext, name: str, arguments) -> ToolResult:
    """Run one tool call the way every agent must: policy and schema first, then the handler, in one transaction.

    A refusal is stored as a `GuardrailViolation` and returned with its reason, so the agent can tell the customer;
    a service error (out of stock, unknown product) comes back as an ordinary failed result.
    """
    tool = TOOLS.get(name)
    try:
        with transaction.atomic():
            policy_check(context=context, tool=tool, name=name, arguments=arguments)
            data = tool.handler(context, arguments)
    except PolicyRefusal as refusal:
        violation = violation_record(
            context=context, tool_name=name, arguments=arguments, rule=refusal.rule, reason=refusal.reason
        )
        return ToolResult(ok=False, error=refusal.reason, rule=refusal.rule, violation_id=violation.pk)
    except ApplicationError as exc:
        return ToolResult(ok=False, error=exc.message)
    return ToolResult(ok=True, data=data)


def _staff_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=STAFF, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _send_escalation_mail(*, escalation_id: int) -> None:
    escalation = Escalation.objects.select_related("agent").get(pk=escalation_id)
    rules = GuardrailViolation.objects.filter(conversation_id=escalation.conversation_id).values_list("rule", flat=True)
    recipients = _staff_emails()
    if not recipients:
        logger.warning("Escalation %s has no staff e-mail to go to", escalation_id)
        return
    send_mail(
        subject=_("[VendBot] 会話%(id)sでガードレール違反が続いています") % {"id": escalation.conversation_id},
        message=_(
            "エージェント「%(agent)s」が会話%(id)sで%(count)d回ツールの実行を拒否されました（%(rules)s）。\n"
            "管理画面のガードレール違反一覧で内容を確認してください。"
        )
        % {
            "agent": escalation.agent.name,
            "id": escalation.conversation_id,
            "count": escalation.violation_count,
            "rules": ", ".join(sorted(set(rules))),
        },
        from_email=None,
        recipient_list=recipients,
    )


@transaction.atomic
def violation_record(*, context: ToolContext, tool_name: str, arguments, rule: str, reason: str) -> GuardrailViolation:
    """Store a refused call; the `ESCALATION_THRESHOLD`-th in one conversation hands it to staff (once)."""
    violation = GuardrailViolation.objects.create(
        agent=context.agent,
        conversation_id=context.conversation_id,
        tool_name=tool_name[:80],
        arguments=redact(arguments if isinstance(arguments, dict) else {"raw": arguments}),
        rule=rule,
        reason=reason,
    )
    logger.warning("Guardrail refused %s (%s) for agent %s", tool_name, rule, context.agent.name)
    if context.conversation_id is None:
        return violation
    count = GuardrailViolation.objects.filter(conversation_id=context.conversation_id).count()
    if count < ESCALATION_THRESHOLD:
        return violation
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                agent=context.agent, conversation_id=context.conversation_id, violation_count=count
            )
    except IntegrityError:
        return violation  # already escalated: staff got their e-mail
    violation.escalated = True
    violation.save(update_fields=["escalated"])
    transaction.on_commit(lambda: _send_escalation_mail(escalation_id=escalation.pk))
    return violation


def agent_busy_mark(*, agent: Agent) -> None:
    """Mark a working agent alive and busy as a turn starts; a Manager's pause in between stands. One statement,
    atomic on its own: no transaction around it (on PostgreSQL that would be two more round trips per turn)."""
    agent_mark_busy(agent_id=agent.pk, now=timezone.now())


@transaction.atomic(savepoint=False)  # no savepoint when nested in a turn's closing commit: callers let errors end it
def turn_record(
    *,
    agent: Agent,
    conversation_id: int | None,
    provider: str,
    model_name: str,
    tool_calls: list[dict],
    reply_filtered: list[str],
    input_tokens: int,
    output_tokens: int,
    latency_ms: int,
    prompt_hash: str = "",
    cost_yen: Decimal = Decimal(0),
    time_to_first_token_ms: int | None = None,
    fallback_reason: str = "",
    flags: list[str] | None = None,
    violation_ids: tuple[int, ...] = (),
) -> AgentTurn:
    """The decision-log row of a finished turn: what was called, what was filtered, tokens, cost, timings and any
    fallback. Written once, when the turn ends (one INSERT, not an INSERT and an UPDATE); the refusals made during
    the turn (`violation_ids`, stored as they happened) are linked to it here. A busy agent turns idle again. The row
    goes in through `apps.core.sql.insert` (as `save` would write it, without the ORM's per-statement work)."""
    turn = AgentTurn(
        agent=agent,
        conversation_id=conversation_id,
        provider=provider,
        model_name=model_name,
        tool_calls=redact(tool_calls),
        reply_filtered=reply_filtered,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        prompt_hash=prompt_hash,
        cost_yen=cost_yen,
        time_to_first_token_ms=time_to_first_token_ms,
        fallback_reason=fallback_reason[:200],
        flags=flags or [],
    )
    turn.pk = batch([insert([turn], returning="id")])[0][0][0]
    saved(turn, created=True)
    if violation_ids:
        GuardrailViolation.objects.filter(pk__in=violation_ids).update(turn=turn)
    agent_mark_idle(agent_id=agent.pk)
    return turn


def _status_change(
    *, agent: Agent, status: str, action: str, actor=None, actor_label: str = "", reason: str = ""
) -> Agent:
    from_state = agent.status
    agent.status = status
    agent.save(update_fields=["status"])
    audit_record(
        target=agent,
        action=action,
        actor=actor,
        actor_label=actor_label,
        from_state=from_state,
        to_state=status,
        reason=reason,
    )
    return agent


@transaction.atomic
def agent_mark_failed(*, agent: Agent, reason: str) -> Agent:
    """A provider that broke mid-turn takes its agent out of service until a Manager resumes it."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    return _status_change(
        agent=agent, status=Agent.Status.FAILED, action="agent_failed", actor_label=agent.name, reason=reason
    )


@transaction.atomic
def agent_pause(*, agent: Agent, actor, reason: str = "") -> Agent:
    """Put an agent in maintenance: it is never called until resumed; its customers get a polite notice."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.status == Agent.Status.MAINTENANCE:
        raise Conflict(_("%(name)sはすでにメンテナンス中です。") % {"name": agent.name})
    return _status_change(
        agent=agent, status=Agent.Status.MAINTENANCE, action="agent_pause", actor=actor, reason=reason
    )


@transaction.atomic
def agent_resume(*, agent: Agent, actor, reason: str = "") -> Agent:
    """Bring a paused or failed agent back to work."""
    agent = Agent.objects.select_for_update().get(pk=agent.pk)
    if agent.is_callable:
        raise Conflict(_("%(name)sは稼働中です。") % {"name": agent.name})
    return _status_change(agent=agent, status=Agent.Status.IDLE, action="agent_resume", actor=actor, reason=reason)


@transaction.atomic
def agent_tools_set(*, agent: Agent, tool_names: list[str], actor) -> Agent:
    """Enable exactly these tools; each must exist and be allowed for the agent's kind."""
    problem = tool_names_problem(kind=agent.kind, tool_names=tool_names)
    if problem:
        raise ValidationError(problem, details={"field": "enabled_tools"})
    from_tools = list(agent.enabled_tools)
    agent.enabled_tools = list(dict.fromkeys(tool_names))
    agent.save(update_fields=["enabled_tools"])
    audit_record(
        target=agent, action="agent_tools_set", actor=actor, data={"from": from_tools, "to": agent.enabled_tools}
    )
    return agent


@transaction.atomic
def agent_persona_set(*, agent: Agent, persona: Persona | None, actor, reason: str) -> Agent:
    """Make `persona` the agent's own (new conversations start with it; running ones keep theirs), audited.
    Setting the persona it already has changes and records nothing."""
    if not reason.strip():
        raise ValidationError(_("ペルソナを変える理由を入力してください。"), details={"field": "reason"})
    agent = Agent.objects.select_for_update(of=("self",)).select_related("persona").get(pk=agent.pk)
    if agent.persona_id == (persona.pk if persona else None):
        return agent
    from_name = agent.persona.name if agent.persona else ""
    agent.persona = persona
    agent.save(update_fields=["persona"])
    audit_record(
        target=agent,
        action="agent_persona_set",
        actor=actor,
        from_state=from_name,
        to_state=persona.name if persona else "",
        reason=reason,
    )
    return agent


@transaction.atomic
def note_write(
    *, agent: Agent, text: str, conversation_id: int | None = None, kind: str = AgentNote.Kind.NOTE, data=None
) -> AgentNote:
    return AgentNote.objects.create(agent=agent, conversation_id=conversation_id, kind=kind, text=text, data=data or {})


@transaction.atomic
def agent_memory_set(*, agent: Agent, key: str, value: str) -> AgentMemory:
    """Keep `value` under `key` for this agent, replacing what was there; an empty value forgets the key."""
    if not value:
        AgentMemory.objects.filter(agent=agent, key=key).delete()
        return AgentMemory(agent=agent, key=key, value="")
    memory, _created = AgentMemory.objects.update_or_create(agent=agent, key=key, defaults={"value": value})
    return memory


@transaction.atomic
def agent_scratchpad_write(*, agent: Agent, text: str, append: bool, max_chars: int) -> AgentMemory:
    """Replace the scratchpad or add a line to it; it keeps its last `max_chars` characters."""
    memory = AgentMemory.objects.select_for_update().filter(agent=agent, key=AgentMemory.SCRATCHPAD_KEY).first()
    current = memory.value if memory and append else ""
    joined = f"{current}\n{text}" if current else text
    return agent_memory_set(agent=agent, key=AgentMemory.SCRATCHPAD_KEY, value=joined[-max_chars:])


@transaction.atomic
def coupon_grant_record(
    *, agent: Agent, conversation_id: int | None, customer_key: str, coupon_code: str, percent: int, worst_case_yen: int
) -> CouponGrant:
    return CouponGrant.objects.create(
        agent=agent,
        conversation_id=conversation_id,
        customer_key=customer_key,
        coupon_code=coupon_code,
        percent=percent,
        worst_case_yen=worst_case_yen,
    )


@transaction.atomic
def conversation_summary_store(*, conversation_id: int, text: str, folded_messages: int) -> ConversationSummary:
    """Keep the folded summary of a conversation's older messages (one row per conversation, replaced as it grows)."""
    summary, _created = ConversationSummary.objects.update_or_create(
        conversation_id=conversation_id, defaults={"text": text, "folded_messages": folded_messages}
    )
    return summary


BUDGET_ALERT_PERCENTS = (50, 80, 90, 100)


@transaction.atomic(savepoint=False)  # see turn_record
def llm_usage_record(
    *,
    agent: Agent | None,
    model_name: str,
    input_tokens: int,
    output_tokens: int,
    cost_yen: Decimal,
    calls: int = 1,
) -> None:
    """Add model calls to the ledger row of (agent, model, today) in the database (`SET x = x + n`), so concurrent
    calls in any process add up exactly. The caller checks the budget thresholds (`budget_alerts_record`)."""
    day = timezone.localdate()
    add = {
        "agent_id": agent.pk if agent is not None else None,  # None: a persona preview's
        "model_name": model_name,
        "day": day,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "calls": calls,
        "cost_yen": cost_yen,
    }
    if not usage_add(**add):
        # No row yet: the first call of the day (get_or_create settles a race to add it).
        LlmUsage.objects.get_or_create(agent=agent, model_name=model_name, day=day)
        usage_add(**add)


@transaction.atomic(savepoint=False)  # see turn_record
def budget_alerts_record(*, spent: selectors.LlmBudgetState | None = None) -> list[BudgetAlert]:
    """One `BudgetAlert` per period and threshold reached (50/80/90/100 %); the unique constraint keeps it to one
    even when two processes cross together. `spent`: the budget state after the spend when the caller knows it (a
    turn: what it read before calling the model plus its own cost; a concurrent turn's spend shows in the next
    turn's check), else read from the ledger. Below the first threshold nothing is read or written. Staff see the
    alerts in the admin; the 100 % stop is in `routing`."""
    state = spent or selectors.llm_budget_state()
    today = timezone.localdate()
    created = []
    periods = (
        (BudgetAlert.Period.DAY, today, state.day_percent, state.day_spent_yen, settings.LLM_DAILY_BUDGET_YEN),
        (
            BudgetAlert.Period.MONTH,
            today.replace(day=1),
            state.month_percent,
            state.month_spent_yen,
            settings.LLM_MONTHLY_BUDGET_YEN,
        ),
    )
    for period, start, percent, spent_yen, budget in periods:
        if percent < BUDGET_ALERT_PERCENTS[0]:
            continue
        recorded = selectors.budget_alert_thresholds_recorded(period=period, period_start=start)
        for threshold in BUDGET_ALERT_PERCENTS:
            if percent < threshold:
                break
            if threshold in recorded:
                continue
            try:
                with transaction.atomic():
                    alert = BudgetAlert.objects.create(
                        period=period,
                        period_start=start,
                        threshold_percent=threshold,
                        spent_yen=spent_yen,
                        budget_yen=budget,
                    )
            except IntegrityError:
                continue  # another process recorded it first
            logger.warning(
                "Model budget: %s%% of the %s budget spent (%s yen of %s)", threshold, period, spent_yen, budget
            )
            created.append(alert)
    return created


@transaction.atomic
def llm_usage_book(*, through: datetime.date) -> list[JournalEntry]:
    """Book every day of model usage up to `through` that the books do not have yet, as AI利用料 / 未払金 for the
    day's cost over all agents and models, rounded to the yen (a day that rounds to ¥0 posts nothing). Days the
    books have closed are left alone. The day's usage rows are locked first, so two runs cannot book a day twice;
    book only finished days, since usage keeps adding to today."""
    closed_through = ledger_state().closed_through
    usage = LlmUsage.objects.filter(day__lte=through)
    if closed_through:
        usage = usage.filter(day__gt=closed_through)
    days = sorted(set(usage.select_for_update().values_list("day", flat=True)))
    if not days:
        return []
    booked = entry_dates(kind=EntryKind.AI_USAGE, date_from=days[0], date_to=days[-1])
    costs = usage.filter(day__in=set(days) - booked).values("day").annotate(cost=Sum("cost_yen")).order_by("day")
    return [
        post_ai_usage(date=row["day"], cost_yen=int(row["cost"].quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        for row in costs
        if row["cost"] >= Decimal("0.5")
    ]


# --- customer care: cases, staff answers, the assistant's refunds ------------------------------------------------


def _case_mail(*, case_id: int) -> None:
    case = Case.objects.get(pk=case_id)
    recipients = _staff_emails()
    if not recipients:
        logger.warning("Case %s has no staff e-mail to go to", case_id)
        return
    send_mail(
        subject=_("[VendBot] お客様対応 #%(id)s: %(kind)s") % {"id": case.pk, "kind": case.get_kind_display()},
        message=_(
            "お客様から申し出がありました（%(channel)s、会話%(conversation)s）。\n\n%(text)s\n\n"
            "%(due)sまでに管理画面の「お客様対応」から回答してください。"
        )
        % {
            "channel": case.channel or "-",
            "conversation": case.conversation_id or "-",
            "text": case.text,
            "due": timezone.localtime(case.sla_due_at).strftime("%Y-%m-%d %H:%M"),
        },
        from_email=None,
        recipient_list=recipients,
    )


def _case_announce(case_id: int) -> None:
    try:
        _case_mail(case_id=case_id)
    except Exception:  # noqa: BLE001  (an unreachable mail server must not cost the LINE notice)
        logger.exception("Case %s: the staff e-mail could not be sent", case_id)
    send_robust(case_opened, case_id=case_id)


@transaction.atomic
def case_open(
    *,
    agent: Agent | None,
    conversation_id: int | None,
    customer_key: str,
    channel: str,
    kind: str,
    text: str,
    sale=None,
) -> Case:
    """Hand a customer's complaint to staff: a case with its SLA, announced after the commit by e-mail and (through
    chats) on LINE. A conversation has at most one open case; saying more adds to it and announces nothing new."""
    text = (text or "").strip()
    if kind not in Case.Kind.values:
        raise ValidationError(_("対応の種類が正しくありません。"), details={"field": "kind"})
    if not text:
        raise ValidationError(_("申し出の内容が空です。"), details={"field": "text"})
    if conversation_id is not None:
        existing = Case.objects.select_for_update().filter(conversation_id=conversation_id, status=Case.Status.OPEN)
        if case := existing.first():
            case.text = f"{case.text}\n{text}"[-5000:]
            case.sale = case.sale or sale
            case.save(update_fields=["text", "sale"])
            return case
    case = Case.objects.create(
        agent=agent,
        conversation_id=conversation_id,
        customer_key=customer_key,
        channel=channel,
        kind=kind,
        text=text[:5000],
        sale=sale,
        sla_due_at=timezone.now() + datetime.timedelta(minutes=settings.CASE_SLA_MINUTES),
    )
    logger.info("Case %s opened (%s)", case.pk, kind)
    transaction.on_commit(lambda: _case_announce(case.pk))
    return case


@transaction.atomic
def case_assign(*, case: Case, owner, actor) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    from_owner = case.owner_id
    case.owner = owner
    case.save(update_fields=["owner"])
    audit_record(target=case, action="case_assign", actor=actor, data={"from": from_owner, "to": owner.pk})
    return case


@transaction.atomic
def case_answer(*, case: Case, author, text: str) -> CaseReply:
    """A staff answer: stored, the case answered (its first answer timed), and after the commit taken to the
    customer on their channel by chats. The author becomes the owner of a case nobody owned."""
    if not author.has_perm("agents.change_case"):
        raise PermissionDenied(_("お客様対応に回答する権限がありません。"))
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("回答を入力してください。"), details={"field": "text"})
    if len(text) > MAX_CASE_ANSWER_LENGTH:
        raise ValidationError(
            _("回答は%(max)d文字以内にしてください。") % {"max": MAX_CASE_ANSWER_LENGTH}, details={"field": "text"}
        )
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Case.Status.RESOLVED:
        raise Conflict(_("解決済みの対応には回答できません。"), code="case_resolved")
    reply = CaseReply.objects.create(case=case, author=author, text=text)
    from_state = case.status
    case.status = Case.Status.ANSWERED
    case.first_answered_at = case.first_answered_at or reply.created_at
    case.owner = case.owner or author
    case.save(update_fields=["status", "first_answered_at", "owner"])
    audit_record(target=case, action="case_answer", actor=author, from_state=from_state, to_state=case.status)
    transaction.on_commit(lambda: send_robust(case_answered, reply_id=reply.pk))
    return reply


@transaction.atomic
def case_reply_delivered(*, reply: CaseReply, via: str, error: str = "") -> CaseReply:
    """How a staff answer reached the customer (`via`: line, tablet), or why it did not (`error`)."""
    reply.delivered_via = via[:10]
    reply.delivered_at = timezone.now() if not error else None
    reply.delivery_error = error[:200]
    reply.save(update_fields=["delivered_via", "delivered_at", "delivery_error"])
    return reply


@transaction.atomic
def case_resolve(*, case: Case, actor) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status == Case.Status.RESOLVED:
        return case
    from_state = case.status
    case.status = Case.Status.RESOLVED
    case.resolved_at = timezone.now()
    case.save(update_fields=["status", "resolved_at"])
    audit_record(target=case, action="case_resolve", actor=actor, from_state=from_state, to_state=case.status)
    return case


@transaction.atomic
def self_service_refund_record(*, context: ToolContext, sale) -> SelfServiceRefund:
    """The assistant refunds what the machine recorded as not dispensed on `sale` (the policy checked that it is the
    customer's own, recent and not refunded before). The row is unique per sale, so even a racing second call cannot
    refund again; inventory books the refund, and the gateway pays it back after the commit."""
    try:
        with transaction.atomic():
            refund = SelfServiceRefund.objects.create(
                sale=sale, agent=context.agent, conversation_id=context.conversation_id, amount_yen=0
            )
    except IntegrityError:
        raise Conflict(_("この購入はすでに返金を受け付けています。"), code="already_refunded") from None
    sale = sale_refund_undispensed(sale=sale, actor_label=f"agent:{context.agent.name}")
    refund.amount_yen = sale.refunded_yen
    refund.save(update_fields=["amount_yen"])
    return refund


# --- a customer's right to be forgotten, in the agents' records -----------------------------------------------------


@transaction.atomic
def conversation_records_forget(*, conversation_ids: list[int], customer_key: str = "") -> dict[str, int]:
    """Remove what the agents' records keep of these conversations (and of `customer_key`): summaries, notes, abuse
    escalations and customer-care cases (with staff answers) are deleted; decision-log turns, refusals, coupon grants
    and the assistant's refunds stay for costs, budgets and the books, without their conversation, tool arguments
    and results or customer key. Called by chats for a deletion request and by the retention job."""
    in_conversations = Q(conversation_id__in=conversation_ids)
    of_customer = in_conversations | Q(customer_key=customer_key) if customer_key else in_conversations
    grants = CouponGrant.objects.filter(of_customer)
    counts = {
        # The coupon's note says why the agent gave it, in the words of the conversation.
        "coupon_notes_blanked": coupon_notes_forget(codes=list(grants.values_list("coupon_code", flat=True))),
        "summaries_deleted": ConversationSummary.objects.filter(in_conversations).delete()[0],
        "notes_deleted": AgentNote.objects.filter(in_conversations).delete()[0],
        "escalations_deleted": Escalation.objects.filter(in_conversations).delete()[0],
        "cases_deleted": Case.objects.filter(of_customer).delete()[1].get("agents.Case", 0),
        "turns_anonymised": AgentTurn.objects.filter(in_conversations).update(
            conversation_id=None, tool_calls=[], reply_filtered=[], flags=[]
        ),
        "refusals_anonymised": GuardrailViolation.objects.filter(in_conversations).update(
            conversation_id=None, arguments={}
        ),
        "coupon_grants_anonymised": grants.update(conversation_id=None, customer_key=""),
        "refunds_anonymised": SelfServiceRefund.objects.filter(in_conversations).update(conversation_id=None),
    }
    return counts
