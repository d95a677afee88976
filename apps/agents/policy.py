"""The guardrail policy: checked in code in front of every tool call, whatever the model or the customer says.

`policy_check` raises `PolicyRefusal(rule, reason)`; the caller records it as a `GuardrailViolation` and tells the
agent the reason. The limits are constants (`apps.agents.limits`) and fields only a Manager can edit (the agent's
tools and coupon budget): no argument and no message text reaches them.
"""

import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.agents import selectors
from apps.agents.limits import (
    MAX_COUPON_PERCENT,
    MAX_OFFER_OVER_FAIR_COST_PERMILLE,
    MAX_UNITS_PER_ORDER,
    MIN_PRICE_OVER_COST_DENOMINATOR,
    MIN_PRICE_OVER_COST_NUMERATOR,
)
from apps.agents.models import Agent
from apps.agents.tools.registry import Tool, ToolContext
from apps.core.logging import is_sensitive_key, redact_text
from apps.inventory.models import Payment
from apps.inventory.selectors import sale_undispensed_yen


class PolicyRefusal(Exception):
    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule = rule
        self.reason = str(reason)


# Argument names that point at a person. No tool takes one: the customer comes from the conversation, never from
# the model, so naming anyone in an argument is an attempt to reach another customer's data.
_PERSON_KEY_WORDS = ("customer", "user", "member", "email", "phone", "line_id", "address")
# Argument names that point money somewhere: payment only ever goes through the machine's own gateway.
_PAYEE_KEY_WORDS = ("account", "bank", "iban", "wallet", "payee", "pay_to", "recipient", "transfer")
_PERSONAL_MARKERS = ("[REDACTED:email]", "[REDACTED:phone]", "[REDACTED:card]")


def _walk(value):
    """Every (key, value) pair inside nested arguments, through dicts and lists alike."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def _check_people_payees_and_secrets(arguments: dict) -> None:
    for key, value in _walk(arguments):
        lowered = str(key).lower()
        if any(word in lowered for word in _PAYEE_KEY_WORDS):
            raise PolicyRefusal(
                "payment_gateway", _("お支払いはこの自販機の決済だけです。送金先や口座は指定できません。")
            )
        if any(word in lowered for word in _PERSON_KEY_WORDS):
            raise PolicyRefusal(
                "other_customer_data", _("他のお客様やアカウントの情報は扱えません（引数「%(key)s」）。") % {"key": key}
            )
        if is_sensitive_key(key):
            raise PolicyRefusal("secrets", _("鍵・パスワード・トークンなどの秘密情報は扱えません。"))
        if isinstance(value, str):
            redacted = redact_text(value)
            if redacted != value:
                if any(marker in redacted for marker in _PERSONAL_MARKERS):
                    raise PolicyRefusal(
                        "other_customer_data", _("電話番号・メールアドレス・カード番号はツールに渡せません。")
                    )
                raise PolicyRefusal("secrets", _("鍵やトークンのような秘密情報はツールに渡せません。"))


def _check_coupon(context: ToolContext, arguments: dict) -> None:
    percent = arguments["percent"]
    if percent > MAX_COUPON_PERCENT:
        raise PolicyRefusal(
            "coupon_max_percent",
            _("クーポンの割引は最大%(max)d%%です（要求: %(asked)d%%）。")
            % {"max": MAX_COUPON_PERCENT, "asked": percent},
        )
    if context.conversation_id is not None and selectors.conversation_has_coupon(
        conversation_id=context.conversation_id
    ):
        raise PolicyRefusal("coupon_once_per_conversation", _("クーポンは1回の会話につき1枚までです。"))
    # Lock the agent row so two conversations cannot both spend the last of the day's budget.
    agent = Agent.objects.select_for_update().get(pk=context.agent.pk)
    spent = selectors.coupon_budget_spent_today(agent=agent)
    cost = selectors.coupon_worst_case_yen(percent=percent)
    if spent + cost > agent.daily_coupon_budget_yen:
        raise PolicyRefusal(
            "coupon_budget",
            _("本日のクーポン予算（%(budget)d円）を超えます（使用済み%(spent)d円、このクーポン最大%(cost)d円）。")
            % {"budget": agent.daily_coupon_budget_yen, "spent": spent, "cost": cost},
        )


def price_floor_yen(*, cost_yen: int) -> int:
    """The lowest price allowed for a product costing `cost_yen`: cost × 11/10, rounded up to the yen."""
    return -(-cost_yen * MIN_PRICE_OVER_COST_NUMERATOR // MIN_PRICE_OVER_COST_DENOMINATOR)


def price_floor_check(*, price_yen: int, cost_yen: int) -> None:
    """Refuse (`below_cost`) a price under `price_floor_yen`. Pure: the live rule and the simulator both call it."""
    floor = price_floor_yen(cost_yen=cost_yen)
    if price_yen < floor:
        raise PolicyRefusal(
            "below_cost",
            _("%(price)d円は原価（%(cost)d円）の1.1倍未満です。%(floor)d円以上にしてください。")
            % {"price": price_yen, "cost": cost_yen, "floor": floor},
        )


def _check_price(context: ToolContext, arguments: dict) -> None:
    price = arguments["price_yen"]
    if price <= 0:
        raise PolicyRefusal("nothing_free", _("価格は1円以上でなければなりません。無料にはできません。"))
    if context.simulation is not None:
        cost = context.simulation.unit_cost_yen(arguments["sku"])
    else:
        product = selectors.product_by_sku(sku=arguments["sku"])
        cost = product.unit_cost_yen if product is not None else None
    if cost is None:
        return  # the handler answers "no such product"; nothing to guard
    price_floor_check(price_yen=price, cost_yen=cost)


def supplier_offer_check(*, payment: str, unit_price_yen: int, fair_cost_yen: int) -> None:
    """Refuse a supplier's offer paid other than on invoice (`payment_gateway`: money leaves only through the shop's
    books, never in advance to an account a supplier names) or dearer, all in, than
    MAX_OFFER_OVER_FAIR_COST_PERMILLE of the fair cost (`offer_over_fair_cost`)."""
    if payment != "invoice":
        raise PolicyRefusal(
            "payment_gateway",
            _("仕入先への支払いは請求書払いだけです。前払いの振込や指定口座への送金はできません。"),
        )
    ceiling = fair_cost_yen * MAX_OFFER_OVER_FAIR_COST_PERMILLE // 1000
    if unit_price_yen > ceiling:
        raise PolicyRefusal(
            "offer_over_fair_cost",
            _("単価%(price)d円は適正原価%(cost)d円の%(percent)d%%を超えます（上限%(ceiling)d円）。")
            % {
                "price": unit_price_yen,
                "cost": fair_cost_yen,
                "percent": MAX_OFFER_OVER_FAIR_COST_PERMILLE // 10,
                "ceiling": ceiling,
            },
        )


def _check_offer(context: ToolContext, arguments: dict) -> None:
    offer = context.simulation.supplier_offer(arguments["offer_id"]) if context.simulation is not None else None
    if offer is None:
        return  # the handler answers "no such offer"; nothing to guard
    supplier_offer_check(
        payment=offer["payment"], unit_price_yen=offer["unit_price_yen"], fair_cost_yen=offer["fair_cost_yen"]
    )


def _check_order(context: ToolContext, arguments: dict) -> None:
    units = sum(item["quantity"] for item in arguments["items"])
    if units > MAX_UNITS_PER_ORDER:
        raise PolicyRefusal(
            "order_quantity",
            _("1回のご注文は%(max)d個までです（要求: %(units)d個）。") % {"max": MAX_UNITS_PER_ORDER, "units": units},
        )
    if arguments["payment_method"] not in Payment.Method.values:
        raise PolicyRefusal(
            "payment_gateway",
            _("お支払いはこの自販機の決済（%(methods)s）だけです。個人の口座や外部への送金は受け付けません。")
            % {"methods": ", ".join(Payment.Method.values)},
        )


def _check_refund(context: ToolContext, arguments: dict) -> None:
    """The assistant's refund policy: only the customer's own sale, within SELF_SERVICE_REFUND_HOURS, once, and never
    more than the machine recorded as not dispensed (which is never more than was paid)."""
    sale = selectors.sale_for_self_refund(
        sale_ids=context.sale_ids, customer_key=context.customer_key, sale_id=arguments.get("sale_id")
    )
    if sale is None:
        return  # the handler answers "no such purchase"
    if not selectors.sale_is_customers(sale=sale, sale_ids=context.sale_ids, customer_key=context.customer_key):
        raise PolicyRefusal("refund_not_own_sale", _("ご本人のご購入でないため、返金はできません。"))
    if sale.created_at < timezone.now() - datetime.timedelta(hours=settings.SELF_SERVICE_REFUND_HOURS):
        raise PolicyRefusal(
            "refund_too_late",
            _("ご購入から%(hours)d時間を過ぎているため、ここでは返金できません。")
            % {"hours": settings.SELF_SERVICE_REFUND_HOURS},
        )
    if sale.refunded_yen or selectors.self_service_refund_exists(sale=sale):
        raise PolicyRefusal("refund_once", _("このご購入は%(yen)s円返金済みです。") % {"yen": f"{sale.refunded_yen:,}"})
    asked = arguments.get("amount_yen")
    paid = sale.total_yen - sale.refunded_yen
    if asked is not None and asked > paid:
        raise PolicyRefusal(
            "refund_over_paid", _("お支払い額（%(paid)s円）を超える返金はできません。") % {"paid": f"{paid:,}"}
        )
    recorded = sale_undispensed_yen(sale=sale)
    if asked is not None and asked > recorded:
        raise PolicyRefusal(
            "refund_over_recorded",
            _("自販機の記録で出なかった分（%(yen)s円）を超える返金はここではできません。") % {"yen": f"{recorded:,}"},
        )


_TOOL_RULES = {
    "refund_undispensed": _check_refund,
    "accept_supplier_offer": _check_offer,
    "issue_coupon": _check_coupon,
    "set_price": _check_price,
    "start_purchase": _check_order,
}


def policy_check(*, context: ToolContext, tool: Tool | None, name: str, arguments) -> None:
    """Raise `PolicyRefusal` unless this agent may make this call with these arguments. Run inside the handler's
    transaction, so a limit checked here still holds when the handler writes."""
    agent = context.agent
    if tool is None:
        raise PolicyRefusal(
            "unknown_tool",
            _("「%(name)s」という操作はありません。管理操作はエージェントにはできません。") % {"name": name},
        )
    if agent.kind not in tool.allowed_kinds:
        raise PolicyRefusal(
            "tool_not_allowed",
            _("%(kind)sエージェントは「%(name)s」を使えません。") % {"kind": agent.get_kind_display(), "name": name},
        )
    if name not in agent.enabled_tools:
        raise PolicyRefusal(
            "tool_not_enabled", _("「%(name)s」はこのエージェントで有効になっていません。") % {"name": name}
        )
    if not isinstance(arguments, dict):
        raise PolicyRefusal("invalid_arguments", _("引数はオブジェクトで渡してください。"))
    _check_people_payees_and_secrets(arguments)
    from jsonschema.exceptions import best_match  # loaded with the validator (tools/registry.py)

    error = best_match(tool.validator.iter_errors(arguments))  # what jsonschema.validate raises
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "arguments"
        raise PolicyRefusal(
            "invalid_arguments",
            _("引数が正しくありません（%(where)s: %(problem)s）。") % {"where": where, "problem": error.message},
        )
    rule = _TOOL_RULES.get(name)
    if rule:
        rule(context, arguments)
