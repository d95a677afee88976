"""A customer's right to be forgotten, as far as the shop's own tables go (called by chats when a customer asks)."""

from django.db import transaction

from apps.core.errors import ValidationError
from apps.inventory.models import Coupon, CouponRedemption, ProductRequest, Sale


@transaction.atomic
def customer_data_forget(*, customer_key: str) -> dict[str, int]:
    """Delete the customer's product requests and blank their key on sales (failed purchase attempts included) and
    coupon uses (the sales themselves stay: the books need them, but no longer say whose they were). Returns how many
    rows of each were touched."""
    customer_key = (customer_key or "").strip()
    if not customer_key:
        raise ValidationError("customer_key is required: a blank key would touch every anonymous sale.")
    requests_deleted, _ = ProductRequest.objects.filter(customer_key=customer_key).delete()
    return {
        "product_requests_deleted": requests_deleted,
        "sales_anonymised": Sale.attempts.filter(customer_key=customer_key).update(customer_key=""),
        "coupon_redemptions_anonymised": CouponRedemption.objects.filter(customer_key=customer_key).update(
            customer_key=""
        ),
    }


@transaction.atomic
def coupon_notes_forget(*, codes: list[str]) -> int:
    """Blank the note of these coupons (an agent's coupon keeps why it was given, which may quote the customer)."""
    return Coupon.objects.filter(code__in=codes).exclude(note="").update(note="")


@transaction.atomic
def product_requests_anonymise(*, created_before) -> int:
    """Blank the customer key of product requests older than `created_before` (the retention job): the shop keeps
    what was asked for, no longer by whom."""
    return ProductRequest.objects.filter(created_at__lt=created_before).exclude(customer_key="").update(customer_key="")
