"""A customer's data export (LINE 「データ確認」, or staff on request): everything held about them as one
machine-readable JSON document — the customer record, every conversation with every message (pictures by file name),
tags, ratings, customer-care cases with staff answers, product requests, purchases with their lines, coupon uses,
coupon grants and the assistant's refunds. Reads only (a selector module); the signed download link is in `views`."""

import datetime
import json

from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q

from apps.agents.models import Case, CouponGrant, SelfServiceRefund
from apps.chats.models import Conversation, Customer, Rating
from apps.chats.selectors import customer_record
from apps.inventory.models import CouponRedemption, ProductRequest, Sale

EXPORT_FORMAT = "vendbot.customer-export/1"


def _rows(queryset, *fields) -> list[dict]:
    return list(queryset.values(*fields))


def _conversations(customer: Customer) -> list[dict]:
    conversations = (
        Conversation.objects.filter(Q(customer=customer) | Q(customer_key=customer.key))
        .select_related("machine", "persona")
        .prefetch_related("messages", "tags")
        .order_by("started_at", "id")
    )
    return [
        {
            "id": str(conversation.public_id),
            "channel": conversation.channel,
            "machine": conversation.machine.code,
            "persona": conversation.persona.name if conversation.persona else None,
            "summary": conversation.summary,
            "started_at": conversation.started_at,
            "last_activity_at": conversation.last_activity_at,
            "tags": [{"kind": tag.kind, "value": tag.value} for tag in conversation.tags.all()],
            "messages": [
                {
                    "at": message.created_at,
                    "sender": message.sender,
                    "text": message.text,
                    "picture": message.image.name or None,
                    "tool": message.tool_name or None,
                    "data": message.data,
                }
                for message in conversation.messages.all()
            ],
        }
        for conversation in conversations
    ]


def _sales(customer: Customer) -> list[dict]:
    sales = Sale.objects.filter(customer_key=customer.key).prefetch_related("lines__product").order_by("created_at")
    return [
        {
            "id": sale.pk,
            "at": sale.created_at,
            "channel": sale.channel,
            "status": sale.status,
            "total_yen": sale.total_yen,
            "discount_yen": sale.discount_yen,
            "refunded_yen": sale.refunded_yen,
            "lines": [
                {
                    "sku": line.product.sku,
                    "name": line.product.name_ja,
                    "quantity": line.quantity,
                    "total_yen": line.total_yen,
                }
                for line in sale.lines.all()
            ],
        }
        for sale in sales
    ]


def customer_data_export(*, customer: Customer, now: datetime.datetime | None = None) -> dict:
    """Everything held about the customer (what a deletion would remove), as plain JSON-ready data."""
    cases = Case.objects.filter(Q(customer_key=customer.key)).prefetch_related("replies").order_by("created_at")
    return {
        "format": EXPORT_FORMAT,
        "generated_at": now,
        "customer": customer_record(customer),
        "conversations": _conversations(customer),
        "ratings": _rows(
            Rating.objects.filter(
                Q(conversation__customer=customer) | Q(conversation__customer_key=customer.key)
            ).order_by("created_at"),
            "created_at",
            "subject",
            "score",
            "comment",
            "sale_id",
            "message__text",
        ),
        "cases": [
            {
                "id": case.pk,
                "at": case.created_at,
                "kind": case.kind,
                "status": case.status,
                "text": case.text,
                "sale_id": case.sale_id,
                "answers": [{"at": reply.created_at, "text": reply.text} for reply in case.replies.all()],
            }
            for case in cases
        ],
        "product_requests": _rows(
            ProductRequest.objects.filter(customer_key=customer.key).order_by("created_at"),
            "created_at",
            "name",
            "description",
            "status",
        ),
        "purchases": _sales(customer),
        "coupon_uses": _rows(CouponRedemption.objects.filter(customer_key=customer.key), "coupon__code", "sale_id"),
        "coupons_given": _rows(
            CouponGrant.objects.filter(customer_key=customer.key), "created_at", "coupon_code", "percent"
        ),
        "member_codes": _rows(customer.member_codes.order_by("created_at"), "created_at", "expires_at"),
        "refunds_by_the_assistant": _rows(
            SelfServiceRefund.objects.filter(sale__customer_key=customer.key), "created_at", "sale_id", "amount_yen"
        ),
    }


def export_json(data: dict) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)


_EXPORT_SALT = "chats.customer-export"


def export_link(*, customer: Customer) -> str:
    """A link to the customer's export, good for CUSTOMER_EXPORT_LINK_MINUTES: the signed token rides in the URL's
    fragment, which browsers never send, so no server log sees it; the page posts it to get the file."""
    token = signing.dumps({"customer": customer.pk, "hash": customer.line_user_hash or ""}, salt=_EXPORT_SALT)
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/me/export/#token={token}"


def export_customer(*, token: str) -> Customer | None:
    """The customer a link's token names, if it is genuine, unexpired and still theirs (deleted: None)."""
    try:
        claims = signing.loads(token, salt=_EXPORT_SALT, max_age=settings.CUSTOMER_EXPORT_LINK_MINUTES * 60)
    except signing.BadSignature:
        return None
    customer = Customer.objects.filter(pk=claims.get("customer")).first()
    if customer is None or (customer.line_user_hash or "") != claims.get("hash"):
        return None
    return customer
