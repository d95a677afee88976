"""Factories for every app's tests; each app's factories live under its own heading below."""

import datetime

import factory
from django.contrib.auth import get_user_model

# --- core -------------------------------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.invalid")
    password = factory.django.Password("correct-horse-battery")


# --- inventory --------------------------------------------------------------------------------------------------


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Product"
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"T{n:04d}")
    name_ja = factory.Sequence(lambda n: f"テスト商品{n}")
    name_en = factory.Sequence(lambda n: f"Test product {n}")
    category = "drink"
    tax_rate = 8
    price_yen = 150
    unit_cost_yen = 70


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Machine"
        django_get_or_create = ("code",)

    code = "HQ-1F"
    name = "本社1F"


class SlotFactory(factory.django.DjangoModelFactory):
    """An empty slot; give it stock with `stock_slot` so every quantity has its movements."""

    class Meta:
        model = "inventory.Slot"

    machine = factory.SubFactory(MachineFactory)
    code = factory.Sequence(lambda n: f"Z{n}")
    product = factory.SubFactory(ProductFactory)
    capacity = 10


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Coupon"

    code = factory.Sequence(lambda n: f"TEST{n}")
    kind = "yen"
    value = 50


class MachineFeeFactory(factory.django.DjangoModelFactory):
    """Location rent of ¥5,500 a month (10 % inside), paid from the bank at each month's end, from 2026-01-01."""

    class Meta:
        model = "inventory.MachineFee"

    machine = factory.SubFactory(MachineFactory)
    kind = "location_rent"
    payee = "ビル管理会社"
    amount_yen = 5500
    tax_rate = 10
    paid_from = "bank"
    due_day = 31
    active_from = datetime.date(2026, 1, 1)


def stock_slot(slot, quantity: int, *, spare: int = 0):
    """Receive `quantity + spare` into the back room and move `quantity` into the slot, through the services."""
    from apps.inventory.services import stock_receive, stock_transfer_to_slot

    stock_receive(product=slot.product, quantity=quantity + spare, unit_cost_yen=slot.product.unit_cost_yen)
    if quantity:
        stock_transfer_to_slot(slot=slot, quantity=quantity)
    slot.refresh_from_db()
    return slot


# --- agents / chats ---------------------------------------------------------------------------------------------


class PersonaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "agents.Persona"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"テスト店員{n}")
    description = "本社の自販機の店番。"
    greeting = "いらっしゃいませ！何かお探しですか？"


class AgentFactory(factory.django.DjangoModelFactory):
    """A shopkeeper with every tool its kind may use enabled (pass `kind=` for another kind)."""

    class Meta:
        model = "agents.Agent"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"agent{n}")
    kind = "shopkeeper"
    persona = factory.SubFactory(PersonaFactory)
    daily_coupon_budget_yen = 1_000

    @factory.lazy_attribute
    def enabled_tools(self):
        from apps.agents.tools.registry import tool_names_for_kind

        return tool_names_for_kind(self.kind)


# --- dashboard --------------------------------------------------------------------------------------------------


class _BackdatedFactory(factory.django.DjangoModelFactory):
    """Pass `created_at=` to place the row in the past (auto_now_add would otherwise stamp it now)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        row = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=row.pk).update(created_at=created_at)
            row.created_at = created_at
        return row


class HistoricSaleFactory(_BackdatedFactory):
    """A completed sale of reduced-rate goods with no lines: made-up sales history for reports and anomaly rules."""

    class Meta:
        model = "inventory.Sale"

    machine = factory.SubFactory(MachineFactory)
    channel = "tablet"
    subtotal_yen = 1000
    total_yen = factory.SelfAttribute("subtotal_yen")
    total_8_yen = factory.SelfAttribute("total_yen")
    tax_8_yen = factory.LazyAttribute(lambda o: o.total_yen * 8 // 108)
    cost_yen = factory.LazyAttribute(lambda o: o.total_yen // 2)


class AgentTurnFactory(_BackdatedFactory):
    class Meta:
        model = "agents.AgentTurn"

    agent = factory.SubFactory(AgentFactory)
    provider = "offline"
    input_tokens = 1000
    output_tokens = 200
    latency_ms = 800


# --- experiments ------------------------------------------------------------------------------------------------


def sold_on(*, slot, at, quantity: int, unit_price_yen: int, customer_key: str = "", machine=None):
    """A completed, backdated sale of `quantity` units from `slot` (made-up history: no stock movements)."""
    from apps.inventory.models import SaleLine

    total = quantity * unit_price_yen
    sale = HistoricSaleFactory(
        machine=machine or slot.machine, subtotal_yen=total, customer_key=customer_key, created_at=at
    )
    SaleLine.objects.create(
        sale=sale,
        slot=slot,
        product=slot.product,
        quantity=quantity,
        unit_price_yen=unit_price_yen,
        tax_rate=slot.product.tax_rate,
        total_yen=total,
        unit_cost_yen=slot.product.unit_cost_yen,
        dispensed_quantity=quantity,
    )
    return sale


# --- inventory: procurement ------------------------------------------------------------------------------------


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Supplier"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"テスト商事{n}")
    contact_email = factory.Sequence(lambda n: f"orders{n}@supplier.example.invalid")
    lead_time_days = 2
    reliability_score = 90


class SupplierOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.SupplierOffer"

    supplier = factory.SubFactory(SupplierFactory)
    product = factory.SubFactory(ProductFactory)
    unit_cost_yen = 60
    pack_size = 1


class PurchaseOrderFactory(factory.django.DjangoModelFactory):
    """An order in any `status` with one line of `line__product` × `line__quantity` at `line__unit_cost_yen`."""

    class Meta:
        model = "inventory.PurchaseOrder"
        skip_postgeneration_save = True

    supplier = factory.SubFactory(SupplierFactory)
    status = "pending_human_approval"
    created_by_label = "procurement-agent"
    line = factory.RelatedFactory("tests.factories.PurchaseOrderLineFactory", factory_related_name="order")

    @factory.post_generation
    def totals(order, create, extracted, **kwargs):
        """The total from the lines; the lines of a closed order no longer hold their product."""
        order.lines.update(is_open=order.status not in ("received", "rejected", "cancelled"))
        order.total_yen = sum(line.quantity * line.unit_cost_yen for line in order.lines.all())
        order.save(update_fields=["total_yen"])


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.PurchaseOrderLine"

    product = factory.SubFactory(ProductFactory)
    quantity = 12
    unit_cost_yen = 100
